package web

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// The charts are SVG written on the server: no script and no network.

// line is one series of a line chart.
type line struct {
	Name   string
	Values []float64
	Color  string
	Dashed bool
}

// lineChart draws lines over times (one value per time) in a w×h box,
// with the y axis from 0 to the largest value (at least yMin), labelled
// with format.
func lineChart(title string, times []time.Time, lines []line, yMin float64, format func(float64) string) template.HTML {
	const w, h, left, right, top, bottom = 560.0, 170.0, 52.0, 12.0, 22.0, 24.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %g %g" width="%g" height="%g" role="img" aria-label="%s">`, w, h, w, h, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<text x="%g" y="14" class="chart-title" font-size="13" font-weight="600" fill="#1f2933">%s</text>`, left, template.HTMLEscapeString(title))
	ymax := yMin
	for _, l := range lines {
		for _, v := range l.Values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				ymax = max(ymax, v)
			}
		}
	}
	if ymax <= 0 {
		ymax = 1
	}
	ymax = niceCeil(ymax)
	pw, ph := w-left-right, h-top-bottom
	for i := 0; i <= 4; i++ {
		y := top + ph - ph*float64(i)/4
		fmt.Fprintf(&b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#e4e7eb" stroke-width="1"/>`, left, y, w-right, y)
		fmt.Fprintf(&b, `<text x="%g" y="%.1f" font-size="10" text-anchor="end" fill="#52606d">%s</text>`, left-4, y+3, template.HTMLEscapeString(format(ymax*float64(i)/4)))
	}
	n := len(times)
	if n == 0 {
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="12" text-anchor="middle" fill="#7b8794">no samples yet</text>`, left+pw/2, top+ph/2)
	} else {
		x := func(i int) float64 {
			if n == 1 {
				return left + pw
			}
			return left + pw*float64(i)/float64(n-1)
		}
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="10" fill="#52606d">%s</text>`, left, h-6, times[0].Format("15:04:05"))
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="10" text-anchor="end" fill="#52606d">%s</text>`, w-right, h-6, times[n-1].Format("15:04:05"))
		// The legend, right-aligned on the title's line.
		lx := w - right
		for _, l := range lines {
			lx -= 28 + 6.1*float64(len([]rune(l.Name)))
		}
		for _, l := range lines {
			var pts []string
			for i, v := range l.Values {
				if i >= n || math.IsNaN(v) || math.IsInf(v, 0) {
					continue
				}
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), top+ph-ph*min(v, ymax)/ymax))
			}
			dash := ""
			if l.Dashed {
				dash = ` stroke-dasharray="5 4"`
			}
			if len(pts) == 1 {
				pts = append(pts, pts[0])
			}
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`, l.Color, dash, strings.Join(pts, " "))
			fmt.Fprintf(&b, `<line x1="%.1f" y1="10" x2="%.1f" y2="10" stroke="%s" stroke-width="2"%s/><text x="%.1f" y="14" font-size="11" fill="#3e4c59">%s</text>`,
				lx, lx+16, l.Color, dash, lx+20, template.HTMLEscapeString(l.Name))
			lx += 28 + 6.1*float64(len([]rune(l.Name)))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built from numbers and escaped text
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// waterfall draws a link's match weight as a Splink-style waterfall: the
// prior, then each field's weight as a step up (agreement) or down, then
// the total, on one axis of log2 Bayes factors.
func waterfall(l cm.PairEvidence, label func(string) string) template.HTML {
	type step struct {
		name, level string
		from, to    float64
		kind        string // prior, up, down, total
		a, b        string
	}
	// The matcher records the prior as a field named "prior"; whatever the
	// fields do not account for is shown as a prior step too.
	sum := 0.0
	for _, f := range l.Fields {
		sum += f.Weight
	}
	var steps []step
	cum := 0.0
	if rest := l.Weight - sum; math.Abs(rest) > 1e-9 {
		steps = append(steps, step{name: "prior", from: 0, to: rest, kind: "prior"})
		cum = rest
	}
	for _, f := range l.Fields {
		k := "up"
		switch {
		case f.Field == "prior":
			k = "prior"
		case f.Weight < 0:
			k = "down"
		}
		level := f.Level
		if level == f.Field {
			level = ""
		}
		steps = append(steps, step{name: f.Field, level: level, from: cum, to: cum + f.Weight, kind: k, a: f.A, b: f.B})
		cum += f.Weight
	}
	steps = append(steps, step{name: "match weight", from: 0, to: l.Weight, kind: "total"})
	lo, hi := 0.0, 0.0
	for _, s := range steps {
		lo, hi = min(lo, s.from, s.to), max(hi, s.from, s.to)
	}
	if hi-lo < 1 {
		hi = lo + 1
	}
	const w, rowH, left, right, top = 640.0, 22.0, 230.0, 70.0, 26.0
	h := top + rowH*float64(len(steps)) + 22
	pw := w - left - right
	x := func(v float64) float64 { return left + pw*(v-lo)/(hi-lo) }
	var b strings.Builder
	title := fmt.Sprintf("%s ~ %s: match weight %+.2f, probability %.4f", label(l.A), label(l.B), l.Weight, l.Probability)
	fmt.Fprintf(&b, `<svg class="waterfall" viewBox="0 0 %g %g" width="%g" height="%g" role="img" aria-label="%s">`, w, h, w, h, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<text x="4" y="15" font-size="13" font-weight="600" fill="#1f2933">%s</text>`, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#9aa5b1" stroke-width="1"/>`, x(0), top-4, x(0), h-18)
	colors := map[string]string{"prior": "#9aa5b1", "up": "#2f9e44", "down": "#e03131", "total": "#1c7ed6"}
	for i, s := range steps {
		y := top + rowH*float64(i)
		x0, x1 := x(min(s.from, s.to)), x(max(s.from, s.to))
		name := s.name
		if s.level != "" {
			name += " (" + s.level + ")"
		}
		tip := name
		if s.a != "" || s.b != "" {
			tip += ": " + s.a + " | " + s.b
		}
		fmt.Fprintf(&b, `<g><title>%s</title>`, template.HTMLEscapeString(tip))
		fmt.Fprintf(&b, `<text x="%g" y="%.1f" font-size="11" text-anchor="end" fill="#323f4b">%s</text>`, left-6, y+14, template.HTMLEscapeString(truncate(name, 34)))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%g" fill="%s" rx="2"/>`, x0, y+3, max(x1-x0, 1.5), rowH-6, colors[s.kind])
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="#323f4b">%+.2f</text></g>`, max(x1, x0)+4, y+14, s.to-s.from)
		if i > 0 && i < len(steps)-1 {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#cbd2d9" stroke-dasharray="2 2"/>`, x(s.from), y-3, x(s.from), y+3)
		}
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%g" font-size="10" text-anchor="middle" fill="#52606d">0</text>`, x(0), h-6)
	fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="10" text-anchor="end" fill="#52606d">log2 Bayes factors</text>`, w-4, h-6)
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built from numbers and escaped text
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
