// Command hlsload holds many Low-Latency HLS players on one live stream and
// measures how soon each gets a part once the server has it.
//
// Each player does what hls.js does at the live edge: it asks for the media
// playlist with _HLS_msn/_HLS_part naming the next part (a blocking
// reload, held by the server until that part exists), then fetches the
// part, then asks for the one after. The server says in Server-Timing how
// long it held the request; what the player waited beyond that (from
// sending the request to reading the whole answer, minus the hold) is the
// time from the part's completion to its delivery. It runs for -duration
// after every player has its first answer and prints the quantiles, and
// the parts per second delivered.
//
//	go run ./tools/hlsload -url http://127.0.0.1:18100/hls/ID/video1_stream.m3u8 -players 2000
//
// scripts/llhls-bench.sh starts servers and runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	target := flag.String("url", "", "a live media playlist (http://HOST/hls/ID/video1_stream.m3u8)")
	players := flag.Int("players", 2000, "players to hold")
	duration := flag.Duration("duration", 30*time.Second, "how long to measure once every player is in")
	parts := flag.Bool("parts", true, "fetch each part too, as a player does")
	sources := flag.Int("sources", 8, "local addresses 127.0.0.1.. to spread the connections over (ephemeral ports)")
	ramp := flag.Duration("ramp", 10*time.Second, "how long to take to start the players")
	pids := flag.String("pids", "", "server processes (comma-separated ids) whose CPU to report over the measurement")
	flag.Parse()
	if *target == "" {
		flag.Usage()
		os.Exit(2)
	}
	u, err := url.Parse(*target)
	if err != nil {
		log.Fatal(err)
	}
	var procs []int
	for _, f := range strings.Split(*pids, ",") {
		if f = strings.TrimSpace(f); f != "" {
			pid, err := strconv.Atoi(f)
			if err != nil {
				log.Fatalf("-pids: %v", err)
			}
			procs = append(procs, pid)
		}
	}
	res, err := run(u, *players, *duration, *parts, *sources, *ramp, procs)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(res)
}

type stats struct {
	mu       sync.Mutex
	samples  []time.Duration
	recent   bool // samples are being kept
	errors   atomic.Int64
	answers  atomic.Int64
	partsGot atomic.Int64
	unheld   atomic.Int64 // answers without a hold (the part existed already)
}

func (s *stats) add(d time.Duration) {
	s.mu.Lock()
	if s.recent {
		s.samples = append(s.samples, d)
	}
	s.mu.Unlock()
}

func run(u *url.URL, players int, duration time.Duration, fetchParts bool, sources int, ramp time.Duration, procs []int) (string, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := &stats{}
	var ready sync.WaitGroup
	ready.Add(players)
	var wg sync.WaitGroup
	for i := range players {
		src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%max(sources, 1)))}
		tr := &http.Transport{
			DialContext:         (&net.Dialer{LocalAddr: src, Timeout: 10 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 1,
			DisableCompression:  true,
		}
		client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
		wg.Go(func() {
			defer tr.CloseIdleConnections()
			player(ctx, client, u, fetchParts, st, &ready)
		})
		time.Sleep(ramp / time.Duration(players))
	}
	waitAll := make(chan struct{})
	go func() { ready.Wait(); close(waitAll) }()
	select {
	case <-waitAll:
	case <-time.After(2 * time.Minute):
		return "", errors.New("not every player got a first answer within 2 minutes")
	}
	// Let the players settle on the live edge, then measure.
	time.Sleep(2 * time.Second)
	st.mu.Lock()
	st.recent = true
	st.mu.Unlock()
	answers0, parts0, errs0 := st.answers.Load(), st.partsGot.Load(), st.errors.Load()
	cpu0 := make([]int64, len(procs))
	for i, p := range procs {
		cpu0[i] = cpuTicks([]int{p})
	}
	self0 := cpuTicks([]int{os.Getpid()})
	start := time.Now()
	time.Sleep(duration)
	cpu1 := make([]int64, len(procs))
	for i, p := range procs {
		cpu1[i] = cpuTicks([]int{p})
	}
	self1 := cpuTicks([]int{os.Getpid()})
	st.mu.Lock()
	st.recent = false
	samples := slices.Clone(st.samples)
	st.mu.Unlock()
	elapsed := time.Since(start)
	answers, partsGot, errs := st.answers.Load()-answers0, st.partsGot.Load()-parts0, st.errors.Load()-errs0
	cancel()
	wg.Wait()
	if len(samples) == 0 {
		return "", errors.New("no held request was answered")
	}
	slices.Sort(samples)
	q := func(p float64) string {
		d := samples[min(len(samples)-1, int(p*float64(len(samples))))]
		return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "players: %d held on %s\n", players, u.Redacted())
	fmt.Fprintf(&b, "measured: %s; %d playlist answers (%.0f/s), %d parts fetched (%.0f/s), %d errors, %d answers not held\n",
		elapsed.Round(time.Second), answers, float64(answers)/elapsed.Seconds(), partsGot, float64(partsGot)/elapsed.Seconds(), errs, st.unheld.Load())
	fmt.Fprintf(&b, "part completion -> delivery (%d held answers): p50 %s, p90 %s, p99 %s, max %s\n",
		len(samples), q(0.5), q(0.9), q(0.99), q(1))
	for i, pid := range procs {
		cores := float64(cpu1[i]-cpu0[i]) / clockTicks / elapsed.Seconds()
		fmt.Fprintf(&b, "server CPU (pid %d): %.1f %% of a core, %.3f %% per player, %.1f µs per playlist answer and part\n",
			pid, cores*100, cores*100/float64(players), cores*1e6/(float64(answers+partsGot)/elapsed.Seconds()))
	}
	fmt.Fprintf(&b, "this load generator's CPU: %.1f %% of a core\n", float64(self1-self0)/clockTicks/elapsed.Seconds()*100)
	return b.String(), nil
}

// position is where a player is: the next part it asks for, and the
// newest part the last playlist listed.
type position struct {
	msn, part int
	last      string
}

// parse reads a media playlist's live edge: the segment in progress and
// how many of its parts are listed. It scans lines without regular
// expressions: the load generator must cost far less than the server.
func parse(body string) (position, bool) {
	var p position
	seq, segments, trailing, found := 0, 0, 0, false
	for len(body) > 0 {
		var l string
		l, body, _ = strings.Cut(body, "\n")
		switch {
		case strings.HasPrefix(l, "#EXT-X-MEDIA-SEQUENCE:"):
			seq, _ = strconv.Atoi(l[len("#EXT-X-MEDIA-SEQUENCE:"):])
			found = true
		case strings.HasPrefix(l, "#EXT-X-PART:"):
			trailing++
			if _, rest, ok := strings.Cut(l, `URI="`); ok {
				p.last, _, _ = strings.Cut(rest, `"`)
			}
		case l != "" && l[0] != '#':
			segments++
			trailing = 0
		}
	}
	p.msn, p.part = seq+segments, trailing
	return p, found
}

func player(ctx context.Context, c *http.Client, u *url.URL, fetchParts bool, st *stats, ready *sync.WaitGroup) {
	first := true
	defer func() {
		if first {
			ready.Done()
		}
	}()
	var pos position
	blocking := false
	for ctx.Err() == nil {
		q := ""
		if blocking {
			q = fmt.Sprintf("_HLS_msn=%d&_HLS_part=%d", pos.msn, pos.part)
		}
		pl := *u
		pl.RawQuery = q
		sent := time.Now()
		body, hdr, err := get(ctx, c, pl.String())
		got := time.Now()
		if err != nil {
			if ctx.Err() == nil {
				st.errors.Add(1)
				time.Sleep(500 * time.Millisecond)
			}
			blocking = false
			continue
		}
		st.answers.Add(1)
		next, ok := parse(body)
		if !ok {
			st.errors.Add(1)
			blocking = false
			continue
		}
		if blocking {
			if dur, ok := strings.CutPrefix(hdr.Get("Server-Timing"), "hold;dur="); ok {
				hold, _ := strconv.ParseFloat(dur, 64)
				st.add(got.Sub(sent) - time.Duration(hold*float64(time.Millisecond)))
			} else {
				st.unheld.Add(1)
			}
		}
		if first {
			first = false
			ready.Done()
		}
		if fetchParts && next.last != "" && next.last != pos.last {
			part := u.ResolveReference(&url.URL{Path: next.last})
			if _, _, err := get(ctx, c, part.String()); err == nil {
				st.partsGot.Add(1)
			} else if ctx.Err() == nil {
				st.errors.Add(1)
			}
		}
		pos, blocking = next, true
	}
}

func get(ctx context.Context, c *http.Client, u string) (string, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", nil, err
	}
	res, err := c.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return "", nil, err
	}
	if res.StatusCode != http.StatusOK {
		return "", nil, fmt.Errorf("%s: %d", u, res.StatusCode)
	}
	return string(b), res.Header, nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's CPU times (100 on
// Linux everywhere in practice).
const clockTicks = 100

// cpuTicks sums the user and system CPU time of processes, in clock ticks.
func cpuTicks(pids []int) int64 {
	var sum int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// The command name may hold spaces; the fields after it do not.
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 {
			s = s[i+2:]
		}
		f := strings.Fields(s)
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			k, _ := strconv.ParseInt(f[12], 10, 64)
			sum += u + k
		}
	}
	return sum
}
