package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/coder/websocket"

	"github.com/givelive/givelive/client"
)

// Time limits of the phases around the measurement.
const (
	setupTimeout    = 60 * time.Second // REST set-up
	joinTimeout     = 15 * time.Second // after the last viewer is launched
	drainTimeout    = 5 * time.Second  // after the last chat, for replies and deliveries
	closeTimeout    = 10 * time.Second // close handshakes, then sockets are dropped
	sampleTimeout   = 5 * time.Second  // one /metrics scrape
	dialsInFlight   = 256              // viewers dialling or subscribing at once
	closersInFlight = 128              // close handshakes at once
)

// Run executes one load test and returns its report, which it also writes
// to cfg.JSONPath and summarises on cfg.Out.
//
// The error is non-nil when the test could not run: an invalid Config (a
// remote target without AllowRemote is ErrRemoteTarget, refused before any
// connection), an unreachable target or a failed set-up. A run interrupted
// by ctx returns what it measured and ctx's error. A run that completed
// but missed a check returns a nil error and a Report with Passed false.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	cfg = cfg.withDefaults()
	target, _ := targetURL(cfg.Target)
	viewerTarget := target
	if cfg.ViewerTarget != "" {
		viewerTarget, _ = targetURL(cfg.ViewerTarget)
	}
	rest, err := newRESTClient(target)
	if err != nil {
		return Report{}, err
	}
	r := &runner{
		cfg:     cfg,
		out:     cfg.Out,
		rest:    rest,
		dialer:  newDialer(target, viewerTarget, cfg.SourceIPs),
		shards:  statShards(),
		connect: newHistogram(),
	}
	defer r.rest.close()
	defer r.dialer.close()
	return r.run(ctx)
}

// runner is one Run's state. Its phases run on Run's goroutine; viewers,
// chatters and the live line have their own.
type runner struct {
	cfg    Config
	out    io.Writer
	rest   *restClient
	dialer *dialer
	bufs   bufPool

	started  int64 // Unix ns when the run began: older chats are not ours
	begun    time.Time
	timeline []TimelinePoint // one point per second, written by the live loop only
	win      window
	stopping atomic.Bool // set once the sockets are being closed
	phase    atomic.Pointer[string]

	rooms    []string
	shards   []*stats
	viewers  []*viewer
	stalled  []*stalledViewer
	chatters []*chatter
	storm    *storm         // Config.Reconnect
	stormers []*stormViewer // Config.Reconnect: the viewers

	readers sync.WaitGroup // one per connection's goroutine
	joining sync.WaitGroup // one per launched viewer, until it joins or gives up

	connMu  sync.Mutex
	connect *hdrhistogram.Histogram // connect-to-subscribed times

	donor *donor // nil without a donation rate

	errs   errorCounts // the runner's and chatters' errors
	closes errorCounts // close codes the chatters saw
}

// samples are the server scrapes and generator readings around the window.
type samples struct {
	idle, connected, winStart, winEnd serverSample
	genStart, genEnd                  time.Duration
	rampTime                          time.Duration
}

func (r *runner) run(ctx context.Context) (rep Report, err error) {
	r.begun = time.Now()
	r.started = r.begun.UnixNano()
	r.setPhase("set-up")
	nChatters := r.cfg.roomCount() * r.cfg.chattersPerRoom()
	if limit, need := fileLimit(), r.cfg.Viewers+r.cfg.Stalled+nChatters+64; limit > 0 && need > limit {
		return Report{}, fmt.Errorf("%d viewers and %d chatters need about %d open files; this process may open %d (ulimit -n)",
			r.cfg.Viewers, nChatters, need, limit)
	}
	if err := r.setup(ctx); err != nil {
		return Report{}, err
	}
	if r.cfg.Reconnect {
		return r.runStorm(ctx)
	}

	var s samples
	s.idle = r.sample()
	stopLive := r.startLive()
	dialCtx, cancelDials := context.WithCancel(ctx)
	defer func() {
		cancelDials()
		r.closeAll()
		stopLive()
	}()

	if err := r.connectChatters(dialCtx); err != nil {
		return Report{}, err
	}
	rampStart := time.Now()
	interrupted := r.ramp(dialCtx) != nil || r.waitJoins(ctx) != nil
	s.rampTime = time.Since(rampStart)
	joined := r.exclude()
	s.connected = r.sample()
	if !interrupted {
		giving := func() {}
		if r.donor != nil {
			dctx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); r.donor.run(dctx) }()
			giving = func() { stop(); <-done }
		}
		interrupted = r.chat(ctx, &s) != nil
		giving()
	}
	if !interrupted {
		interrupted = r.drain(ctx, joined) != nil
	}

	cancelDials()
	r.closeAll()
	stopLive()
	rep = r.report(s, joined)
	if interrupted {
		rep.Failures = append(rep.Failures, "interrupted")
		rep.Passed = false
		err = fmt.Errorf("load test interrupted: %w", context.Cause(ctx))
	}
	if r.cfg.JSONPath != "" {
		if werr := writeJSONFile(r.cfg.JSONPath, &rep); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	if r.cfg.HTMLPath != "" {
		if werr := writeHTMLFile(r.cfg.HTMLPath, &rep); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	_ = rep.WriteSummary(r.out)
	return rep, err
}

func (r *runner) setPhase(p string) { r.phase.Store(&p) }

// setup finds or creates the rooms, and creates the chatters' sessions.
func (r *runner) setup(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	run := strconv.FormatInt(r.started, 36)
	if r.cfg.Fundraiser != "" {
		if _, err := r.rest.fundraiser(ctx, r.cfg.Fundraiser); err != nil {
			return fmt.Errorf("failed to find fundraiser %s: %w", r.cfg.Fundraiser, err)
		}
		r.rooms = []string{r.cfg.Fundraiser}
	} else {
		rooms, err := r.rest.createRooms(ctx, r.cfg.AdminToken, run, r.cfg.Rooms)
		if err != nil {
			return fmt.Errorf("failed to create the fundraisers: %w", err)
		}
		r.rooms = rooms
	}

	perRoom := r.cfg.chattersPerRoom()
	if r.cfg.Reconnect {
		perRoom = 0 // no chat: the storm is the measurement
	}
	r.chatters = make([]*chatter, len(r.rooms)*perRoom)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	errs := make([]error, len(r.chatters))
	for i := range r.chatters {
		c := &chatter{r: r, idx: i, room: r.rooms[i/perRoom]}
		r.chatters[i] = c
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c.token, errs[i] = r.rest.createSession(ctx, fmt.Sprintf("lt-%s-%d", run, i))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("failed to create the chatters' sessions: %w", err)
	}

	if r.cfg.DonationRate > 0 {
		d, err := newDonor(ctx, r)
		if err != nil {
			return err
		}
		r.donor = d
	}

	r.viewers = make([]*viewer, r.cfg.Viewers)
	for i := range r.viewers {
		r.viewers[i] = &viewer{r: r, idx: i, room: r.rooms[i%len(r.rooms)], st: r.shards[i%len(r.shards)]}
	}
	r.stalled = make([]*stalledViewer, r.cfg.Stalled)
	for i := range r.stalled {
		r.stalled[i] = &stalledViewer{r: r, idx: i, room: r.rooms[i%len(r.rooms)]}
	}
	return nil
}

// connectChatters connects every chatter and waits for their subscriptions.
func (r *runner) connectChatters(ctx context.Context) error {
	r.setPhase("chatters")
	for _, c := range r.chatters {
		if err := c.connect(ctx); err != nil {
			return err
		}
	}
	timeout := time.NewTimer(joinTimeout)
	defer timeout.Stop()
	for _, c := range r.chatters {
		select {
		case err := <-c.joined:
			if err != nil {
				return err
			}
		case <-timeout.C:
			return errChattersSlow
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// ramp launches the viewers, then the stalled ones, at cfg.Ramp per
// second, with at most dialsInFlight connecting at once.
func (r *runner) ramp(ctx context.Context) error {
	r.setPhase("ramp")
	sem := make(chan struct{}, dialsInFlight)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	total := len(r.viewers) + len(r.stalled)
	for i := 0; i < total; {
		due := min(total, int(time.Since(start).Seconds()*float64(r.cfg.Ramp))+1)
		for ; i < due; i++ {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			done := func() {
				<-sem
				r.joining.Done()
			}
			r.joining.Add(1)
			if i < len(r.viewers) {
				v := r.viewers[i]
				r.readers.Go(func() { v.run(ctx, done) })
			} else {
				s := r.stalled[i-len(r.viewers)]
				r.readers.Go(func() { s.run(ctx, done) })
			}
		}
		if i == total {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// waitJoins waits until every launched viewer has joined or given up, for
// at most joinTimeout.
func (r *runner) waitJoins(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		r.joining.Wait()
		close(done)
	}()
	timeout := time.NewTimer(joinTimeout)
	defer timeout.Stop()
	select {
	case <-done:
	case <-timeout.C:
		r.errs.add("join_timeout")
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// exclude stops waiting for viewers that have not joined and returns the
// number joined per room. Only joined viewers are measured.
func (r *runner) exclude() map[string]int {
	joined := make(map[string]int, len(r.rooms))
	for _, v := range r.viewers {
		if v.state.CompareAndSwap(viewerJoining, viewerExcluded) {
			if ws := v.ws.Load(); ws != nil {
				ws.CloseNow()
			}
			continue
		}
		if v.state.Load() == viewerJoined {
			joined[v.room]++
		}
	}
	return joined
}

// chat runs the chat phase: cfg.ChatRate messages per second, round robin
// over rooms and, within a room, over its chatters, for cfg.Duration. The
// steady-state window opens after cfg.Warmup and closes at the end.
func (r *runner) chat(ctx context.Context, s *samples) error {
	r.setPhase("warm-up")
	perRoom := r.cfg.chattersPerRoom()
	interval := time.Duration(float64(time.Second) / r.cfg.ChatRate)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	warm := time.NewTimer(r.cfg.Warmup)
	defer warm.Stop()
	end := time.NewTimer(r.cfg.Duration)
	defer end.Stop()
	var stickerTick <-chan time.Time // nil: no stickers
	if r.cfg.StickerRate > 0 {
		st := time.NewTicker(time.Duration(float64(time.Second) / r.cfg.StickerRate))
		defer st.Stop()
		stickerTick = st.C
	}
	var scratch []byte
	for m, n := 0, 0; ; {
		select {
		case <-tick.C:
			room := m % len(r.rooms)
			c := r.chatters[room*perRoom+(m/len(r.rooms))%perRoom]
			scratch = c.send(scratch)
			m++
		case <-stickerTick:
			room := n % len(r.rooms)
			c := r.chatters[room*perRoom+(n/len(r.rooms))%perRoom]
			scratch = c.sendSticker(scratch, n)
			n++
		case <-warm.C:
			r.win.start.Store(time.Now().UnixNano())
			s.genStart, _ = processUsage()
			s.winStart = r.sample()
			r.setPhase("steady")
		case <-end.C:
			r.win.end.Store(time.Now().UnixNano())
			s.genEnd, _ = processUsage()
			s.winEnd = r.sample()
			return nil
		case <-ctx.Done():
			r.win.end.Store(time.Now().UnixNano())
			s.genEnd, _ = processUsage()
			return ctx.Err()
		}
	}
}

// drain waits, for at most drainTimeout, until every chat is answered and
// every expected delivery has arrived.
func (r *runner) drain(ctx context.Context, joined map[string]int) error {
	r.setPhase("drain")
	deadline := time.Now().Add(drainTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		expected, unanswered := r.expected(joined)
		if unanswered == 0 && sum(r.shards, nil, nil).deliveries >= expected && r.donationsIn(joined) {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// expected returns the deliveries expected so far (each accepted chat
// times the viewers joined in its room) and the chats still unanswered.
func (r *runner) expected(joined map[string]int) (expected, unanswered int64) {
	for _, c := range r.chatters {
		_, accepted, pending := c.counts()
		expected += accepted * int64(joined[c.room])
		unanswered += pending
	}
	return expected, unanswered
}

// expectedDonations is how many donation receipts the joined viewers
// should have: donations go to the rooms round robin (room i gets donations
// i, i+len(rooms), …), and each accepted one reaches every joined viewer of
// its room. It assumes the accepted ones are the first ones sent.
func (r *runner) expectedDonations(joined map[string]int) int64 {
	if r.donor == nil {
		return 0
	}
	accepted := r.donor.accepted.Load()
	var want int64
	for i, room := range r.rooms {
		n := accepted / int64(len(r.rooms))
		if int64(i) < accepted%int64(len(r.rooms)) {
			n++
		}
		want += n * int64(joined[room])
	}
	return want
}

// donationsIn reports whether every expected donation receipt has arrived.
func (r *runner) donationsIn(joined map[string]int) bool {
	if r.donor == nil {
		return true
	}
	got, _ := sumDonations(r.shards)
	return got >= r.expectedDonations(joined)
}

// closeAll closes every connection with a close handshake, at most
// closersInFlight at once; after closeTimeout the rest are dropped. It
// returns when every connection's goroutine has ended. Safe to call twice.
func (r *runner) closeAll() {
	if r.stopping.Swap(true) {
		r.readers.Wait()
		return
	}
	r.setPhase("closing")
	var conns []*websocket.Conn
	for _, c := range r.chatters {
		if c.ws != nil {
			conns = append(conns, c.ws)
		}
	}
	for _, v := range r.viewers {
		if ws := v.ws.Load(); ws != nil {
			conns = append(conns, ws)
		}
	}
	for _, s := range r.stalled {
		if ws := s.ws.Load(); ws != nil {
			ws.CloseNow() // no handshake: nobody reads its side
		}
	}
	for _, v := range r.stormers {
		if ws := v.ws.Load(); ws != nil {
			conns = append(conns, ws)
		}
	}
	drop := time.AfterFunc(closeTimeout, func() {
		for _, ws := range conns {
			ws.CloseNow()
		}
	})
	work := make(chan *websocket.Conn)
	var closers sync.WaitGroup
	for range min(closersInFlight, len(conns)) {
		closers.Go(func() {
			for ws := range work {
				_ = ws.Close(websocket.StatusNormalClosure, "load test done")
			}
		})
	}
	for _, ws := range conns {
		work <- ws
	}
	close(work)
	closers.Wait()
	drop.Stop()
	r.readers.Wait()
	r.joining.Wait() // every viewer has signalled by now; lets waitJoins' goroutine end
}

// sample scrapes the target's metrics; a failure is counted and leaves the
// sample empty.
func (r *runner) sample() serverSample {
	ctx, cancel := context.WithTimeout(context.Background(), sampleTimeout)
	defer cancel()
	text, err := r.rest.metrics(ctx)
	if err != nil {
		r.errs.add("metrics")
		return serverSample{at: time.Now()}
	}
	return serverSample{at: time.Now(), ok: true, m: parseMetrics(text)}
}

func (r *runner) recordConnect(d time.Duration) {
	r.connMu.Lock()
	recordMicros(r.connect, d)
	r.connMu.Unlock()
}

// startLive prints a line each second until the returned func is called.
func (r *runner) startLive() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		live, interval := newHistogram(), newHistogram()
		var last int64
		lastAt := time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				live.Reset()
				interval.Reset()
				tot := sum(r.shards, live, nil)
				takeInterval(r.shards, interval)
				rate := float64(tot.deliveries-last) / now.Sub(lastAt).Seconds()
				last, lastAt = tot.deliveries, now
				r.liveLine(now, tot, rate, live)
				r.timeline = append(r.timeline, TimelinePoint{
					Seconds: now.Sub(r.begun).Seconds(), Phase: *r.phase.Load(), Viewers: r.joinedCount(),
					DeliveriesPerSec: rate, LatencyMS: quantiles(interval),
				})
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
		})
	}
}

// joinedCount is how many viewers have joined (in a storm, how many are
// subscribed now).
func (r *runner) joinedCount() int {
	if r.storm != nil {
		r.storm.mu.Lock()
		defer r.storm.mu.Unlock()
		return r.storm.up
	}
	joined := 0
	for _, v := range r.viewers {
		if v.state.Load() == viewerJoined {
			joined++
		}
	}
	return joined
}

func (r *runner) liveLine(now time.Time, tot totals, rate float64, live *hdrhistogram.Histogram) {
	joined := r.joinedCount()
	var sent int64
	for _, c := range r.chatters {
		s, _, _ := c.counts()
		sent += s
	}
	nerr := int64(0)
	for _, n := range tot.errors {
		nerr += n
	}
	for _, n := range r.errs.snapshot() {
		nerr += n
	}
	p99 := "-"
	if live.TotalCount() > 0 {
		p99 = fmt.Sprintf("%.1f ms", float64(live.ValueAtQuantile(99))/1000)
	}
	fmt.Fprintf(r.out, "[%6.1fs] %-8s viewers %d/%d  chats %d  deliveries/s %.0f  p99 %s  lost %d  errors %d\n",
		now.Sub(r.begun).Seconds(), *r.phase.Load(), joined, len(r.viewers), sent, rate, p99, tot.lost, nerr)
}

// report assembles the Report once every connection has ended.
func (r *runner) report(s samples, joined map[string]int) Report {
	cfg := r.cfg
	rep := Report{
		Timeline: r.timeline,
		Target:   cfg.Target, ViewerTarget: cfg.ViewerTarget, Rooms: r.rooms, Viewers: cfg.Viewers, Ramp: cfg.Ramp, ChatRate: cfg.ChatRate,
		Duration: cfg.Duration.Seconds(), Warmup: cfg.Warmup.Seconds(), SourceIPs: cfg.SourceIPs,
		Chatters: len(r.chatters), StartedAt: r.begun.UTC().Format(time.RFC3339),
		RampSeconds:         s.rampTime.Seconds(),
		GeneratorGOMAXPROCS: runtime.GOMAXPROCS(0),
	}
	for _, n := range joined {
		rep.ViewersConnected += n
	}
	rep.Stalled = cfg.Stalled
	for _, s := range r.stalled {
		if s.joined.Load() {
			rep.StalledConnected++
		}
	}
	rep.ViewersFailed = cfg.Viewers - rep.ViewersConnected
	r.connMu.Lock()
	rep.ConnectMS = quantiles(r.connect)
	r.connMu.Unlock()

	accepted := make(map[string]int64)
	for _, c := range r.chatters {
		sent, acc, pending := c.counts()
		rep.ChatsSent += sent
		rep.ChatsAccepted += acc
		accepted[c.room] += acc
		if pending > 0 {
			r.errs.addN("chat_unanswered", pending)
		}
	}
	for _, v := range r.viewers {
		if v.state.Load() != viewerJoined {
			continue
		}
		want := accepted[v.room]
		rep.ExpectedDeliveries += want
		rep.Missing += max(0, want-v.received)
	}
	if d := r.donor; d != nil {
		rep.DonationRate = cfg.DonationRate
		rep.DonationsSent, rep.DonationsAccepted, rep.DonationsFailed = d.sent.Load(), d.accepted.Load(), d.failed.Load()
		rep.DonationPostMS = d.postQuantiles()
		n, h := sumDonations(r.shards)
		rep.DonationDeliveries = n
		rep.DonationLatencyMS = quantiles(h)
		rep.ExpectedDonationDeliveries = r.expectedDonations(joined)
	}

	if cfg.StickerRate > 0 {
		rep.StickerRate = cfg.StickerRate
		for _, c := range r.chatters {
			sent, acc := c.stickerCounts()
			rep.StickersSent += sent
			rep.StickersAccepted += acc
		}
		n, h := sumStickers(r.shards)
		rep.StickerDeliveries = n
		rep.StickerLatencyMS = quantiles(h)
	}

	steady := newHistogram()
	tot := sum(r.shards, nil, steady)
	rep.Deliveries, rep.Lost, rep.Duplicated, rep.Foreign = tot.deliveries, tot.lost, tot.duplicated, tot.foreign
	rep.LatencyMS = quantiles(steady)
	rep.Errors = tot.errors
	addCounts(rep.Errors, r.errs.snapshot())
	rep.CloseCodes = make(map[string]int64)
	for code, n := range tot.closes {
		rep.CloseCodes[strconv.Itoa(code)] += n
	}
	addCounts(rep.CloseCodes, r.closes.snapshot())

	if start, end := r.win.start.Load(), r.win.end.Load(); start != 0 && end > start {
		rep.WindowSeconds = time.Duration(end - start).Seconds()
		rep.WindowDeliveries = tot.windowDeliveries
		rep.DeliveriesPerSec = float64(tot.windowDeliveries) / rep.WindowSeconds
		genCPU := (s.genEnd - s.genStart).Seconds()
		rep.GeneratorCPUSeconds = genCPU
		rep.GeneratorCPUCores = genCPU / rep.WindowSeconds
		if tot.windowDeliveries > 0 {
			rep.GeneratorCPUUsPerDelivery = genCPU * 1e6 / float64(tot.windowDeliveries)
		}
	}
	_, rep.GeneratorMaxRSSBytes = processUsage()
	r.serverFigures(&rep, s)
	rep.judge(cfg.MaxP99)
	return rep
}

// serverFigures fills the report's server fields from the scrapes.
func (r *runner) serverFigures(rep *Report, s samples) {
	if !s.idle.ok || !s.connected.ok || !s.winStart.ok || !s.winEnd.ok {
		return
	}
	rep.ServerMetrics = true
	rep.ServerGOMAXPROCS = int(s.winEnd.get(metricGOMAXPROCS))
	cpu := delta(s.winStart, s.winEnd, metricCPU)
	events := delta(s.winStart, s.winEnd, metricDelivered)
	frames := delta(s.winStart, s.winEnd, metricFrames)
	rep.ServerCPUSeconds = cpu
	if secs := s.winEnd.at.Sub(s.winStart.at).Seconds(); secs > 0 {
		rep.ServerCPUCores = cpu / secs
	}
	if events > 0 {
		rep.ServerCPUUsPerDelivery = cpu * 1e6 / events
	}
	if frames > 0 {
		rep.ServerCPUUsPerFrame = cpu * 1e6 / frames
		rep.ServerEventsPerFrame = events / frames
	}
	rep.ServerFramesWritten = int64(frames)
	rep.ServerEventsDelivered = int64(events)
	rep.ServerRSSIdleBytes = int64(s.idle.get(metricRSS))
	rep.ServerRSSConnectedBytes = int64(s.connected.get(metricRSS))
	rep.ServerRSSBytes = int64(s.winEnd.get(metricRSS))
	rep.ServerConnections = int64(s.connected.get(metricConns))
	if opened := delta(s.idle, s.connected, metricConns); opened > 0 {
		rep.ServerRSSPerConnBytes = float64(rep.ServerRSSConnectedBytes-rep.ServerRSSIdleBytes) / opened
		rep.ServerRSSPerConnSteady = float64(rep.ServerRSSBytes-rep.ServerRSSIdleBytes) / opened
		rep.ServerHeapPerConnBytes = delta(s.idle, s.connected, metricHeapInuse) / opened
		rep.ServerStackPerConnBytes = delta(s.idle, s.connected, metricStackInuse) / opened
	}
	rep.ServerSlowConsumer = int64(delta(s.idle, s.winEnd, metricSlowCloses))
	rep.ServerWriteTimeouts = int64(delta(s.idle, s.winEnd, metricWriteTimeouts))
	rep.ServerPingTimeouts = int64(delta(s.idle, s.winEnd, metricPingTimeouts))
	rep.ServerQueueDrops = int64(delta(s.idle, s.winEnd, metricQueueDrops))
}

// runStorm is the run of Config.Reconnect: the viewers connect and hold
// their connections for Duration, reconnecting whenever they lose them;
// the report times each wave of reconnects.
func (r *runner) runStorm(ctx context.Context) (rep Report, err error) {
	r.storm = &storm{begun: r.begun, total: r.cfg.Viewers, backoff: client.DefaultBackoff(), enough: r.cfg.Waves, done: make(chan struct{})}
	r.stormers = make([]*stormViewer, r.cfg.Viewers)
	for i := range r.stormers {
		r.stormers[i] = &stormViewer{r: r, s: r.storm, idx: i, room: r.rooms[i%len(r.rooms)]}
	}
	var s samples
	s.idle = r.sample()
	stopLive := r.startLive()
	dialCtx, cancelDials := context.WithCancel(ctx)
	defer func() {
		cancelDials()
		r.closeAll()
		stopLive()
	}()
	rampStart := time.Now()
	interrupted := r.rampStorm(dialCtx) != nil || r.waitJoins(ctx) != nil
	s.rampTime = time.Since(rampStart)
	s.connected = r.sample()
	if !interrupted {
		r.setPhase("holding")
		t := time.NewTimer(r.cfg.Duration)
		select {
		case <-t.C:
		case <-r.storm.done:
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			interrupted = true
		}
	}
	s.winEnd = r.sample()
	cancelDials()
	r.closeAll()
	stopLive()

	rep = Report{
		Timeline: r.timeline, Target: r.cfg.Target, ViewerTarget: r.cfg.ViewerTarget, Rooms: r.rooms,
		Viewers: r.cfg.Viewers, Ramp: r.cfg.Ramp, Duration: r.cfg.Duration.Seconds(), SourceIPs: r.cfg.SourceIPs,
		StartedAt: r.begun.UTC().Format(time.RFC3339), RampSeconds: s.rampTime.Seconds(),
		GeneratorGOMAXPROCS: runtime.GOMAXPROCS(0), Reconnect: true, Waves: r.storm.result(),
		ViewersConnected: r.storm.joinedOnce(), Errors: r.errs.snapshot(), CloseCodes: map[string]int64{},
	}
	r.connMu.Lock()
	rep.ConnectMS = quantiles(r.connect)
	r.connMu.Unlock()
	if s.idle.ok && s.connected.ok {
		rep.ServerMetrics = true
		rep.ServerRSSIdleBytes = int64(s.idle.get(metricRSS))
		rep.ServerRSSConnectedBytes = int64(s.connected.get(metricRSS))
		if opened := delta(s.idle, s.connected, metricConns); opened > 0 {
			rep.ServerRSSPerConnBytes = float64(rep.ServerRSSConnectedBytes-rep.ServerRSSIdleBytes) / opened
		}
	}
	_, rep.GeneratorMaxRSSBytes = processUsage()
	rep.judge(0)
	if interrupted {
		rep.Failures = append(rep.Failures, "interrupted")
		rep.Passed = false
		err = fmt.Errorf("load test interrupted: %w", context.Cause(ctx))
	}
	if r.cfg.JSONPath != "" {
		if werr := writeJSONFile(r.cfg.JSONPath, &rep); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	_ = rep.WriteSummary(r.out)
	return rep, err
}

// rampStorm launches the reconnecting viewers at cfg.Ramp per second.
func (r *runner) rampStorm(ctx context.Context) error {
	r.setPhase("ramp")
	sem := make(chan struct{}, dialsInFlight)
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for i := 0; i < len(r.stormers); {
		due := min(len(r.stormers), int(time.Since(start).Seconds()*float64(r.cfg.Ramp))+1)
		for ; i < due; i++ {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			v := r.stormers[i]
			r.joining.Add(1)
			joinStart := time.Now()
			r.readers.Go(func() {
				v.run(ctx, func() {
					r.recordConnect(time.Since(joinStart))
					<-sem
					r.joining.Done()
				})
			})
		}
		if i == len(r.stormers) {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
