// Command dockerlint checks Dockerfiles without a Docker engine.
//
// It runs BuildKit's own Dockerfile checks (the ones `docker build --check`
// runs: parse errors, instruction errors and every non-experimental lint rule)
// in-process. Base images are not pulled: an offline resolver answers every
// FROM with a minimal image config for the requested platform, so the checks
// run with no network, and an image tag that does not exist is NOT detected.
//
// BuildKit checks COPY/ADD sources against .dockerignore only when a build
// context is attached, so dockerlint does that check itself: it reads
// <Dockerfile>.dockerignore or .dockerignore beside the Dockerfile.
//
// Usage:
//
//	go run . [Dockerfile ...]   (default: Dockerfile)
//
// It prints every warning and error and exits 1 if there is any, 2 on bad
// usage or an unreadable file. A `# check=skip=RuleName` directive in the
// Dockerfile is honoured, as by BuildKit.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	digest "github.com/opencontainers/go-digest"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: dockerlint [Dockerfile ...]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	files := flag.Args()
	if len(files) == 0 {
		files = []string{"Dockerfile"}
	}
	status := 0
	for _, f := range files {
		n, err := lintFile(context.Background(), f, os.Stdout)
		switch {
		case err != nil:
			fmt.Fprintf(os.Stderr, "dockerlint: %v\n", err)
			status = 2
		case n > 0:
			fmt.Printf("%s: %d problem(s)\n", f, n)
			status = max(status, 1)
		default:
			fmt.Printf("%s: OK\n", f)
		}
	}
	os.Exit(status)
}

// lintFile prints the problems found in one Dockerfile and returns how many
// there were. An error means the file could not be checked at all.
func lintFile(ctx context.Context, path string, w io.Writer) (int, error) {
	dt, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}

	sm := llb.NewSourceMap(nil, path, "Dockerfile", dt)
	sm.Definition = &llb.Definition{} // DockerfileLint reads it; no LLB state here
	res, err := dockerfile2llb.DockerfileLint(ctx, dt, dockerfile2llb.ConvertOpt{
		SourceMap:    sm,
		MetaResolver: offlineResolver{},
	})
	if err != nil {
		return 0, err
	}
	problems := len(res.Warnings)
	if err := res.PrintTo(w, nil); err != nil {
		return 0, err
	}
	if res.Error != nil {
		problems++
		fmt.Fprint(w, "\nERROR: ")
		res.PrintErrorTo(w, nil)
	}

	n, err := checkIgnoredSources(path, dt, w)
	if err != nil {
		return 0, err
	}
	return problems + n, nil
}

// checkIgnoredSources reports COPY and ADD sources from the build context
// that the .dockerignore file excludes (BuildKit's CopyIgnoredFile rule).
func checkIgnoredSources(path string, dt []byte, w io.Writer) (int, error) {
	patterns, ignorePath, err := readIgnoreFile(path)
	if err != nil || len(patterns) == 0 {
		return 0, err
	}
	m, err := patternmatcher.New(patterns)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", ignorePath, err)
	}
	if m.Exclusions() {
		// "!pattern" lines make this undecidable statically; BuildKit skips too.
		return 0, nil
	}
	ast, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		return 0, nil // already reported by DockerfileLint
	}
	stages, _, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		return 0, nil // already reported by DockerfileLint
	}
	n := 0
	for _, st := range stages {
		for _, cmd := range st.Commands {
			var srcs []string
			var name string
			switch c := cmd.(type) {
			case *instructions.CopyCommand:
				if c.From != "" {
					continue
				}
				srcs, name = c.SourcePaths, "COPY"
			case *instructions.AddCommand:
				srcs, name = c.SourcePaths, "ADD"
			default:
				continue
			}
			for _, src := range srcs {
				if strings.Contains(src, "://") || strings.HasPrefix(src, "git@") {
					continue
				}
				src = filepath.ToSlash(filepath.Clean(src))
				if src == "." || src == "/" {
					continue
				}
				ignored, err := m.MatchesOrParentMatches(strings.TrimPrefix(src, "/"))
				if err != nil {
					return 0, err
				}
				if ignored {
					n++
					line := 0
					if loc := cmd.Location(); len(loc) > 0 {
						line = loc[0].Start.Line
					}
					fmt.Fprintf(w, "\nWARNING: CopyIgnoredFile - https://docs.docker.com/go/dockerfile/rule/copy-ignored-file/\n"+
						"%s:%d: %s source %q is excluded by %s\n", path, line, name, src, ignorePath)
				}
			}
		}
	}
	return n, nil
}

// readIgnoreFile finds the ignore file BuildKit would use for the Dockerfile
// at path, assuming the build context is the Dockerfile's directory.
func readIgnoreFile(path string) ([]string, string, error) {
	for _, p := range []string{path + ".dockerignore", filepath.Join(filepath.Dir(path), ".dockerignore")} {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, p, err
		}
		defer f.Close()
		patterns, err := ignorefile.ReadAll(f)
		if err != nil {
			return nil, p, fmt.Errorf("%s: %w", p, err)
		}
		return patterns, p, nil
	}
	return nil, "", nil
}

// offlineResolver stands in for a registry: every image exists, has one
// layer and matches the requested platform.
type offlineResolver struct{}

func (offlineResolver) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	p := platforms.DefaultSpec()
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		p = *opt.ImageOpt.Platform
	}
	cfg := map[string]any{
		"architecture": p.Architecture,
		"os":           p.OS,
		"variant":      p.Variant,
		"config": map[string]any{
			"Env": []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		},
		"rootfs": map[string]any{
			"type":     "layers",
			"diff_ids": []digest.Digest{digest.FromString(ref)},
		},
	}
	dt, err := json.Marshal(cfg)
	return ref, "", dt, err
}
