// hls.js publishes types for its full build only; the light build has the
// same API without the features it leaves out (subtitles, EME, CMCD...).
declare module 'hls.js/light' {
  import Hls from 'hls.js';
  export default Hls;
}
