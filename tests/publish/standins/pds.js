// A real Bluesky PDS (@atproto/pds) and an in-memory PLC directory
// (@did-plc/server) on loopback, for test_channel_bluesky.py.
// Env: PLC_PORT, PDS_PORT, PDS_DIR. Prints one JSON line when ready; stops on
// SIGTERM or when its standard input closes.
const { PlcServer, Database } = require('@did-plc/server')
const pds = require('@atproto/pds')
const { Secp256k1Keypair } = require('@atproto/crypto')
const path = require('path')

async function main() {
  const plcPort = parseInt(process.env.PLC_PORT, 10)
  const pdsPort = parseInt(process.env.PDS_PORT, 10)
  const dir = process.env.PDS_DIR
  const plc = PlcServer.create({ db: Database.mock(), port: plcPort })
  await plc.start()
  const rotation = await Secp256k1Keypair.create({ exportable: true })
  const recovery = await Secp256k1Keypair.create({ exportable: true })
  const env = {
    port: pdsPort,
    hostname: 'localhost',
    devMode: true,
    dataDirectory: dir,
    blobstoreDiskLocation: path.join(dir, 'blobs'),
    didPlcUrl: `http://127.0.0.1:${plcPort}`,
    serviceHandleDomains: ['.test'],
    inviteRequired: false,
    rateLimitsEnabled: false,
    jwtSecret: 'jwt-secret-for-tests',
    adminPassword: 'admin-password-for-tests',
    plcRotationKeyK256PrivateKeyHex: Buffer.from(await rotation.export()).toString('hex'),
    recoveryDidKey: recovery.did(),
    crawlers: [],
  }
  const server = await pds.PDS.create(pds.envToCfg(env), pds.envToSecrets(env))
  await server.start()
  const stop = async () => {
    await server.destroy()
    await plc.destroy()
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.stdin.on('end', stop)
  process.stdin.resume()
  console.log(JSON.stringify({ ready: true }))
}
main().catch((e) => {
  console.error(e)
  process.exit(1)
})
