// Command build bundles GiveLive's web app with esbuild's Go API.
//
// It is run by go generate in client/web (`go generate ./client/web/...`,
// or `make web`). From the package directory it bundles src/main.tsx —
// TypeScript, Preact and hls.js, all read from node_modules, which npm only
// fetches (`npm ci`) — into dist/assets/ under content-hashed names, and
// writes dist/index.html from src/index.html with the names and their
// Subresource Integrity hashes filled in. dist/README.txt, the committed
// placeholder, is left alone; everything else in dist is replaced.
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
var packages = []string{"preact", "hls.js"}

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

	res := api.Build(api.BuildOptions{
		AbsWorkingDir: dir,
		EntryPoints:   []string{"src/main.tsx"},
		Bundle:        true,
		Splitting:     true, // hls.js loads only where a player needs it
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
		Tsconfig:          filepath.Join(dir, "tsconfig.json"),
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

	script, style, err := entryFiles(res.Metafile, dir, dist)
	if err != nil {
		return nil, err
	}
	var html bytes.Buffer
	err = page.Execute(&html, map[string]string{
		"Script":          "/" + script,
		"ScriptIntegrity": integrity[script],
		"Style":           "/" + style,
		"StyleIntegrity":  integrity[style],
	})
	if err != nil {
		return nil, fmt.Errorf("failed to render the page template: %w", err)
	}
	files = append(files, output{name: "index.html", data: html.Bytes()})
	slices.SortFunc(files, func(a, b output) int { return strings.Compare(a.name, b.name) })

	if err := replace(dist, files); err != nil {
		return nil, err
	}
	return files, nil
}

// entryFiles finds, in esbuild's metafile, the script built from the entry
// point and the stylesheet bundled from the CSS it imports, both relative
// to dist.
func entryFiles(metafile, dir, dist string) (script, style string, err error) {
	var meta struct {
		Outputs map[string]struct {
			EntryPoint string `json:"entryPoint"`
			CSSBundle  string `json:"cssBundle"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal([]byte(metafile), &meta); err != nil {
		return "", "", fmt.Errorf("failed to read esbuild's metafile: %w", err)
	}
	// Metafile paths are relative to the working directory.
	rel := func(p string) (string, error) {
		r, err := filepath.Rel(dist, filepath.Join(dir, filepath.FromSlash(p)))
		return filepath.ToSlash(r), err
	}
	for out, o := range meta.Outputs {
		if o.EntryPoint != "src/main.tsx" {
			continue
		}
		if o.CSSBundle == "" {
			return "", "", errors.New("the entry point imports no stylesheet")
		}
		if script, err = rel(out); err != nil {
			return "", "", err
		}
		if style, err = rel(o.CSSBundle); err != nil {
			return "", "", err
		}
		return script, style, nil
	}
	return "", "", errors.New("esbuild's metafile names no output for src/main.tsx")
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
