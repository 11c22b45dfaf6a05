package loadtest

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"os"
	"strings"
)

// TimelinePoint is one second of a run.
type TimelinePoint struct {
	Seconds          float64   `json:"t_s"`   // since the run began
	Phase            string    `json:"phase"` // set-up, ramp, warm-up, steady, drain…
	Viewers          int       `json:"viewers"`
	DeliveriesPerSec float64   `json:"deliveries_per_sec"`
	LatencyMS        Quantiles `json:"latency_ms"` // chats received in this second
}

// chart is an SVG line chart's geometry and series, for the template.
type chart struct {
	Title            string
	Width, Height    int
	Left, Top        int
	PlotW, PlotH     int
	Series           []series
	YTicks, XTicks   []tick
	Unit             string
	Steady, SteadyTo float64 // x of the steady window, in pixels (0: none)
}

type series struct {
	Name, Color string
	Points      string // "x,y x,y …"
}

type tick struct {
	Pos   float64
	Label string
}

// newChart lays out ys (one slice per series, aligned with ts) on a chart.
func newChart(title, unit string, ts []float64, names, colors []string, ys [][]float64, steady [2]float64) chart {
	c := chart{Title: title, Unit: unit, Width: 900, Height: 280, Left: 60, Top: 20}
	c.PlotW, c.PlotH = c.Width-c.Left-20, c.Height-c.Top-40
	tMax, yMax := 1.0, 0.0
	for _, t := range ts {
		tMax = math.Max(tMax, t)
	}
	for _, s := range ys {
		for _, y := range s {
			yMax = math.Max(yMax, y)
		}
	}
	yMax = niceCeil(yMax)
	x := func(t float64) float64 { return float64(c.Left) + t/tMax*float64(c.PlotW) }
	y := func(v float64) float64 { return float64(c.Top) + float64(c.PlotH)*(1-v/yMax) }
	for i, s := range ys {
		var b strings.Builder
		for j, v := range s {
			fmt.Fprintf(&b, "%.1f,%.1f ", x(ts[j]), y(v))
		}
		c.Series = append(c.Series, series{Name: names[i], Color: colors[i], Points: b.String()})
	}
	for i := 0; i <= 4; i++ {
		v := yMax * float64(i) / 4
		c.YTicks = append(c.YTicks, tick{Pos: y(v), Label: trimFloat(v)})
	}
	for i := 0; i <= 6; i++ {
		t := tMax * float64(i) / 6
		c.XTicks = append(c.XTicks, tick{Pos: x(t), Label: fmt.Sprintf("%.0f s", t)})
	}
	if steady[1] > steady[0] {
		c.Steady, c.SteadyTo = x(steady[0]), x(steady[1])
	}
	return c
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten (at least 1).
func niceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

var htmlReport = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>GiveLive load test: {{.Report.Target}}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 940px; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 2em; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; }
.pass { color: #17803d; } .fail { color: #b42318; }
svg text { font-size: 11px; fill: #555; }
</style></head><body>
<h1>GiveLive load test <span class="{{if .Report.Passed}}pass">passed{{else}}fail">failed{{end}}</span></h1>
<p>{{.Report.Target}}, started {{.Report.StartedAt}}: {{.Report.ViewersConnected}} viewers in {{len .Report.Rooms}} rooms,
{{.Report.ChatRate}} chats/s for {{.Report.Duration}} s. p99 {{printf "%.1f" .Report.LatencyMS.P99}} ms,
{{printf "%.0f" .Report.DeliveriesPerSec}} deliveries/s, {{.Report.Lost}} lost.</p>
{{range .Report.Failures}}<p class="fail">{{.}}</p>{{end}}
{{range .Charts}}{{$c := .}}
<h2>{{.Title}}</h2>
<svg width="{{.Width}}" height="{{.Height}}" role="img" aria-label="{{.Title}}">
{{if .SteadyTo}}<rect x="{{.Steady}}" y="{{.Top}}" width="{{.SteadyWidth}}" height="{{.PlotH}}" fill="#eef5ff"/>{{end}}
{{range .YTicks}}<line x1="{{$c.Left}}" x2="{{$c.Right}}" y1="{{.Pos}}" y2="{{.Pos}}" stroke="#ddd"/>{{end}}
{{range .YTicks}}<text x="{{$c.LabelX}}" y="{{.Pos}}" text-anchor="end" dy="4">{{.Label}}</text>{{end}}
{{range .XTicks}}<text x="{{.Pos}}" y="{{$c.AxisY}}" text-anchor="middle">{{.Label}}</text>{{end}}
{{range .Series}}<polyline fill="none" stroke="{{.Color}}" stroke-width="1.5" points="{{.Points}}"/>{{end}}
{{range $i, $s := .Series}}<text x="{{$c.LegendX $i}}" y="12" fill="{{$s.Color}}">■ {{$s.Name}}</text>{{end}}
<text x="{{.Left}}" y="12">{{.Unit}}</text>
</svg>
{{end}}
<p>Shaded: the steady-state window the summary's latency and rates cover. Latency per second is of the chats received in that second.</p>
<h2>Summary</h2>
<pre>{{.Summary}}</pre>
</body></html>
`))

// Template helpers on chart.
func (c chart) Right() int           { return c.Left + c.PlotW }
func (c chart) LabelX() int          { return c.Left - 6 }
func (c chart) AxisY() int           { return c.Top + c.PlotH + 18 }
func (c chart) SteadyWidth() float64 { return c.SteadyTo - c.Steady }
func (c chart) LegendX(i int) int    { return c.Left + 120 + i*110 }

// WriteHTML renders the report as a page with the latency and delivery
// rate over time and the summary table.
func (r *Report) WriteHTML(w *bytes.Buffer) error {
	var ts, p50, p99, max, rate []float64
	var steady [2]float64
	for _, p := range r.Timeline {
		ts = append(ts, p.Seconds)
		p50 = append(p50, p.LatencyMS.P50)
		p99 = append(p99, p.LatencyMS.P99)
		max = append(max, p.LatencyMS.Max)
		rate = append(rate, p.DeliveriesPerSec)
		if p.Phase == "steady" {
			if steady[0] == 0 {
				steady[0] = p.Seconds - 1
			}
			steady[1] = p.Seconds
		}
	}
	var summary bytes.Buffer
	if err := r.WriteSummary(&summary); err != nil {
		return err
	}
	data := struct {
		Report  *Report
		Charts  []chart
		Summary string
	}{
		Report: r,
		Charts: []chart{
			newChart("Chat latency, publish to receive", "ms", ts, []string{"p50", "p99", "max"},
				[]string{"#2563eb", "#dc2626", "#9ca3af"}, [][]float64{p50, p99, max}, steady),
			newChart("Deliveries per second", "events/s", ts, []string{"deliveries/s"},
				[]string{"#16a34a"}, [][]float64{rate}, steady),
		},
		Summary: summary.String(),
	}
	return htmlReport.Execute(w, data)
}

func writeHTMLFile(path string, r *Report) error {
	var b bytes.Buffer
	if err := r.WriteHTML(&b); err != nil {
		return fmt.Errorf("failed to render the HTML report: %w", err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("failed to write the HTML report: %w", err)
	}
	return nil
}
