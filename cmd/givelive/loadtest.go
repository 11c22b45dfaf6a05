package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	lt "github.com/givelive/givelive/client/loadtest"
)

const loadtestUsage = `usage: givelive loadtest [flags]

Drives a GiveLive server with anonymous viewers over real WebSockets while a
few chatter sessions post timestamped chat messages, and reports what the
viewers saw (publish-to-receive latency, lost and duplicated events,
deliveries per second) beside the server's CPU per delivery and memory per
connection (from its /metrics) and the generator's own CPU.

Phases: create the fundraisers (with -admin-token) or join -fundraiser;
open -viewers connections at -ramp per second; chat at -chat-rate for
-duration (the first 2 s are warm-up, left out of the steady-state window);
then close every socket. A live line is printed each second and a summary
at the end.

Exit status: 0 when every viewer connected and nothing was lost, missing or
duplicated, and the -max-p99 threshold (if any) was met; 1 otherwise or on
failure; 2 for bad flags.

flags:
`

func loadtest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, loadtestUsage)
		fs.PrintDefaults()
	}
	var cfg lt.Config
	fs.StringVar(&cfg.Target, "target", lt.DefaultTarget, "server base `URL`")
	fs.StringVar(&cfg.ViewerTarget, "viewer-target", "", "another node's base `URL` for the viewers (chatters, REST and metrics stay on -target), to measure delivery across nodes")
	fs.IntVar(&cfg.Viewers, "viewers", lt.DefaultViewers, "anonymous viewer connections")
	fs.IntVar(&cfg.Rooms, "rooms", lt.DefaultRooms, "fundraisers to create and spread the viewers over")
	fs.BoolVar(&cfg.Reconnect, "reconnect", false, "measure a reconnect storm: no chat; viewers hold their connections for -duration and reconnect with the SDK's backoff whenever they lose them (restart the server meanwhile); the report times each wave")
	fs.IntVar(&cfg.Waves, "waves", 0, "with -reconnect: end once this many waves are over (0: hold for -duration)")
	fs.IntVar(&cfg.Stalled, "stalled", 0, "extra viewers that subscribe and then stop reading, with a small receive buffer (not measured: the report says how the server ended them)")
	fs.IntVar(&cfg.Ramp, "ramp", lt.DefaultRamp, "viewer connections opened per second")
	fs.Float64Var(&cfg.ChatRate, "chat-rate", lt.DefaultChatRate, "chat messages per second over all rooms")
	fs.Float64Var(&cfg.StickerRate, "sticker-rate", 0, "stickers per second over all rooms (volatile: counted and timed, not checked for loss); 0: none")
	fs.Float64Var(&cfg.DonationRate, "donation-rate", 0, "donations per second over all rooms, through the API (sandbox payments only); 0: none")
	fs.DurationVar(&cfg.Duration, "duration", lt.DefaultDuration, "length of the chat phase, which starts once every viewer is connected")
	fs.IntVar(&cfg.SourceIPs, "source-ips", 0, "spread sockets over source addresses 127.0.0.2… 127.0.0.(1+`N`); 0: the system picks")
	fs.StringVar(&cfg.AdminToken, "admin-token", "", "admin `token` to create the fundraisers (default $GIVELIVE_ADMIN_TOKEN)")
	fs.StringVar(&cfg.Fundraiser, "fundraiser", "", "join this fundraiser `id` instead of creating rooms")
	fs.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow a target that is not a loopback address")
	fs.DurationVar(&cfg.MaxP99, "max-p99", 0, "fail when the steady-state p99 latency is above this `duration` (0: no threshold)")
	fs.StringVar(&cfg.JSONPath, "json", "", "write the report as JSON to this `file`")
	fs.StringVar(&cfg.HTMLPath, "html", "", "write the report as an HTML page with latency over time to this `file`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if cfg.AdminToken == "" {
		cfg.AdminToken = os.Getenv("GIVELIVE_ADMIN_TOKEN") // not the flag's default: usage must not print it
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "givelive loadtest: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	// A zero here came from the user (the flags' defaults are not zero), and
	// Config would read it as "default".
	if cfg.Viewers <= 0 || cfg.Rooms <= 0 || cfg.Ramp <= 0 || cfg.ChatRate <= 0 || cfg.Duration <= 0 {
		fmt.Fprintln(stderr, "givelive loadtest: -viewers, -rooms, -ramp, -chat-rate and -duration must be positive")
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "givelive loadtest:", err)
		return 2
	}
	cfg.Out = stdout
	rep, err := lt.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "givelive loadtest:", err)
		return 1
	}
	if !rep.Passed {
		return 1
	}
	return 0
}
