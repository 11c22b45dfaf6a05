// Command build bundles GiveLive's web app with esbuild's Go API.
//
// It is run by go generate in client/web (`go generate ./client/web/...`,
// or `make web`). From the package directory it bundles one entry point
// per page, src/pages/*.tsx — TypeScript, Preact and hls.js, all read from
// node_modules, which npm only fetches (`npm ci`) — into dist/assets/ under
// content-hashed names, with code splitting: each page loads its own
// script and the chunks it shares with others, never another page's
// code. It writes one dist/pages/{page}.html per page from src/index.html,
// with the page's script, stylesheet, the chunks to preload and their
// Subresource Integrity hashes filled in, and dist/manifest.json, which
// lists the scripts each page loads at start (the script budget test reads
// it). dist/README.txt, the committed placeholder, is left alone;
// everything else in dist is replaced.
//
// The output depends only on the sources and node_modules: running it
// twice writes the same bytes.
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// The packages the bundle imports; their absence means npm ci has not run.
var packages = []string{"preact", "hls.js", "uqr"}

func main() {
	dir := flag.String("dir", ".", "the web app's directory (client/web)")
	quiet := flag.Bool("q", false, "do not list the files written")
	flag.Parse()
	files, err := build(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "web build:", err)
		os.Exit(1)
	}
	if !*quiet {
		report(files)
	}
}

// output is one file written to dist.
type output struct {
	name string // relative to dist, slash-separated
	data []byte
}

func build(dir string) ([]output, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	for _, p := range packages {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", p, "package.json")); err != nil {
			return nil, fmt.Errorf("%s is not in %s: run `make web`, or `npm ci` in client/web first (npm only fetches the packages; this program bundles them)",
				p, filepath.Join(dir, "node_modules"))
		}
	}
	page, err := template.ParseFiles(filepath.Join(dir, "src", "index.html"))
	if err != nil {
		return nil, fmt.Errorf("failed to read the page template: %w", err)
	}

	entries, err := pageEntries(dir)
	if err != nil {
		return nil, err
	}
	res := api.Build(api.BuildOptions{
		AbsWorkingDir: dir,
		EntryPoints:   entries,
		Bundle:        true,
		Splitting:     true, // per-page scripts; hls.js loads only where a player needs it
		Format:        api.FormatESModule,
		Platform:      api.PlatformBrowser,
		Target:        api.ES2020,
		Engines: []api.Engine{
			{Name: api.EngineChrome, Version: "109"},
			{Name: api.EngineEdge, Version: "109"},
			{Name: api.EngineFirefox, Version: "115"},
			{Name: api.EngineSafari, Version: "15.4"},
			{Name: api.EngineIOS, Version: "15.4"},
		},
		Outdir:            filepath.Join(dir, "dist", "assets"),
		EntryNames:        "[name]-[hash]",
		ChunkNames:        "[name]-[hash]",
		AssetNames:        "[name]-[hash]",
		PublicPath:        "/assets/", // where the pages find the files esbuild emits (stickers)
		Tsconfig:          filepath.Join(dir, "tsconfig.json"),
		Loader:            map[string]api.Loader{".svg": api.LoaderFile},
		JSX:               api.JSXAutomatic,
		JSXImportSource:   "preact",
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		Charset:           api.CharsetUTF8,
		LegalComments:     api.LegalCommentsEndOfFile,
		Metafile:          true,
		LogLevel:          api.LogLevelSilent, // reported below, once
		Write:             false,
	})
	if warnings := api.FormatMessages(res.Warnings, api.FormatMessagesOptions{Kind: api.WarningMessage}); len(warnings) > 0 {
		fmt.Fprint(os.Stderr, strings.Join(warnings, ""))
	}
	if len(res.Errors) > 0 {
		msgs := api.FormatMessages(res.Errors, api.FormatMessagesOptions{Kind: api.ErrorMessage})
		return nil, fmt.Errorf("esbuild failed:\n%s", strings.Join(msgs, ""))
	}

	dist := filepath.Join(dir, "dist")
	var files []output
	integrity := map[string]string{} // name → sha384-…
	for _, f := range res.OutputFiles {
		rel, err := filepath.Rel(dist, f.Path)
		if err != nil || strings.HasPrefix(rel, "..") {
			return nil, fmt.Errorf("esbuild wrote %s outside %s", f.Path, dist)
		}
		name := filepath.ToSlash(rel)
		sum := sha512.Sum384(f.Contents)
		integrity[name] = "sha384-" + base64.StdEncoding.EncodeToString(sum[:])
		files = append(files, output{name: name, data: f.Contents})
	}

	pages, err := pageFiles(res.Metafile, dir, dist)
	if err != nil {
		return nil, err
	}
	manifest := map[string]any{}
	for _, p := range pages {
		var preloads []map[string]string
		for _, c := range p.Scripts[1:] {
			preloads = append(preloads, map[string]string{"Href": "/" + c, "Integrity": integrity[c]})
		}
		var html bytes.Buffer
		err = page.Execute(&html, map[string]any{
			"Script":          "/" + p.Scripts[0],
			"ScriptIntegrity": integrity[p.Scripts[0]],
			"Style":           "/" + p.Style,
			"StyleIntegrity":  integrity[p.Style],
			"Preloads":        preloads,
		})
		if err != nil {
			return nil, fmt.Errorf("failed to render the page template: %w", err)
		}
		files = append(files, output{name: "pages/" + p.Name + ".html", data: html.Bytes()})
		manifest[p.Name] = map[string]any{"scripts": p.Scripts, "style": p.Style}
	}
	mj, _ := json.MarshalIndent(map[string]any{"pages": manifest}, "", "  ")
	files = append(files, output{name: "manifest.json", data: append(mj, '\n')})
	slices.SortFunc(files, func(a, b output) int { return strings.Compare(a.name, b.name) })

	if err := replace(dist, files); err != nil {
		return nil, err
	}
	return files, nil
}

// pageEntries lists the page entry points, src/pages/*.tsx, sorted.
func pageEntries(dir string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "src", "pages", "*.tsx"))
	if err != nil || len(matches) == 0 {
		return nil, fmt.Errorf("no page entry points in %s (src/pages/*.tsx)", filepath.Join(dir, "src", "pages"))
	}
	var out []string
	for _, m := range matches {
		rel, err := filepath.Rel(dir, m)
		if err != nil {
			return nil, err
		}
		out = append(out, filepath.ToSlash(rel))
	}
	slices.Sort(out)
	return out, nil
}

// pageFile is what one page loads at start: its entry script first, then
// every chunk the entry imports statically (directly or not), and its
// stylesheet; paths relative to dist.
type pageFile struct {
	Name    string
	Scripts []string
	Style   string
}

// pageFiles finds, in esbuild's metafile, each page's entry script, the
// chunks it imports statically, and the stylesheet bundled from the CSS
// it imports. Dynamic imports (hls.js) load later, and only when needed.
func pageFiles(metafile, dir, dist string) ([]pageFile, error) {
	var meta struct {
		Outputs map[string]struct {
			EntryPoint string `json:"entryPoint"`
			CSSBundle  string `json:"cssBundle"`
			Imports    []struct {
				Path string `json:"path"`
				Kind string `json:"kind"`
			} `json:"imports"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal([]byte(metafile), &meta); err != nil {
		return nil, fmt.Errorf("failed to read esbuild's metafile: %w", err)
	}
	// Metafile paths are relative to the working directory.
	rel := func(p string) (string, error) {
		r, err := filepath.Rel(dist, filepath.Join(dir, filepath.FromSlash(p)))
		return filepath.ToSlash(r), err
	}
	var pages []pageFile
	for out, o := range meta.Outputs {
		name, ok := strings.CutPrefix(o.EntryPoint, "src/pages/")
		if !ok || !strings.HasSuffix(out, ".js") {
			continue
		}
		if o.CSSBundle == "" {
			return nil, fmt.Errorf("the page %s imports no stylesheet", o.EntryPoint)
		}
		p := pageFile{Name: strings.TrimSuffix(name, ".tsx")}
		seen := map[string]bool{}
		var walk func(out string) error
		walk = func(out string) error {
			if seen[out] {
				return nil
			}
			seen[out] = true
			r, err := rel(out)
			if err != nil {
				return err
			}
			p.Scripts = append(p.Scripts, r)
			for _, imp := range meta.Outputs[out].Imports {
				if imp.Kind == "import-statement" && strings.HasSuffix(imp.Path, ".js") {
					if err := walk(imp.Path); err != nil {
						return err
					}
				}
			}
			return nil
		}
		if err := walk(out); err != nil {
			return nil, err
		}
		var err error
		if p.Style, err = rel(o.CSSBundle); err != nil {
			return nil, err
		}
		pages = append(pages, p)
	}
	if len(pages) == 0 {
		return nil, errors.New("esbuild's metafile names no page script")
	}
	slices.SortFunc(pages, func(a, b pageFile) int { return strings.Compare(a.Name, b.Name) })
	return pages, nil
}

// replace empties dist, except the committed README.txt, and writes files.
func replace(dist string, files []output) error {
	entries, err := os.ReadDir(dist)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, e := range entries {
		if e.Name() == "README.txt" {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dist, e.Name())); err != nil {
			return fmt.Errorf("failed to clear the old build: %w", err)
		}
	}
	for _, f := range files {
		p := filepath.Join(dist, filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			return fmt.Errorf("failed to write the build: %w", err)
		}
	}
	return nil
}

// report lists the files written with their raw and gzip sizes: the
// numbers a viewer's first visit pays.
func report(files []output) {
	var raw, zipped int
	for _, f := range files {
		z := gzipSize(f.data)
		raw += len(f.data)
		zipped += z
		fmt.Printf("  dist/%-40s %8.1f KB  (gzip %6.1f KB)\n", f.name, kb(len(f.data)), kb(z))
	}
	fmt.Printf("  %-45s %8.1f KB  (gzip %6.1f KB)\n", "total", kb(raw), kb(zipped))
}

func gzipSize(b []byte) int {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Len()
}

func kb(n int) float64 { return float64(n) / 1024 }
