// The live page's player: native HLS where the browser has it (Safari, most
// phones), else hls.js (served with the site, never from a CDN).
(function () {
  "use strict";
  var videos = document.querySelectorAll("video[data-hls]");
  if (!videos.length) return;
  function start(video) {
    var src = video.getAttribute("data-hls");
    if (video.canPlayType("application/vnd.apple.mpegurl")) { video.src = src; return; }
    if (!window.Hls || !window.Hls.isSupported()) return;
    var hls = new window.Hls({ lowLatencyMode: true, maxBufferLength: 10 });
    hls.on(window.Hls.Events.ERROR, function (event, data) {
      if (!data.fatal) return;
      if (data.type === window.Hls.ErrorTypes.NETWORK_ERROR) setTimeout(function () { hls.startLoad(); }, 2000);
      else if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
    });
    hls.loadSource(src);
    hls.attachMedia(video);
  }
  var probe = document.createElement("video");
  if (probe.canPlayType("application/vnd.apple.mpegurl")) { videos.forEach(start); return; }
  var script = document.createElement("script");
  script.src = document.currentScript.src.replace(/live\.js$/, "hls.light.min.js");
  script.onload = function () { videos.forEach(start); };
  document.head.appendChild(script);
})();
