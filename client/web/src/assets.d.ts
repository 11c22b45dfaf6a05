// Files esbuild bundles by URL (loader "file"): importing one gives its
// content-hashed address under /assets/.
declare module '*.svg' {
  const url: string;
  export default url;
}
