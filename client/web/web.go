// Package web serves GiveLive's web app: the home page (/) listing the live
// fundraisers, the viewer page (/f/{id}), the OBS overlay (/overlay/{id}),
// the broadcaster's studio (/studio) and their assets (/assets/). The
// pages are described in docs/WEB.md.
//
// The app is TypeScript and Preact in src/, with hls.js for the player.
// `go generate` runs ./build, which bundles it with esbuild's Go API into
// dist/ (npm only fetches the packages: `npm ci`); dist is embedded in the
// binary and not committed. `make web` does both steps. A binary built
// without the bundle still serves: its pages answer 503 and say how to
// build them.
//
// Entry points: New returns the Handler; Owns says which request paths it
// answers, so a server can route those to it before its API.
//
// Concurrency: a Handler is safe for concurrent use. It reads its files
// once, in New; compressed copies of assets are made on first request.
package web

import "embed"

//go:generate go run ./build

// dist is the build output: index.html and assets/, or only the committed
// README.txt on a clean checkout.
//
//go:embed all:dist
var dist embed.FS
