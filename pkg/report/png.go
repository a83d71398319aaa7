package report

import (
	"fmt"
	"image/color"
	"image/png"
	"io"
	"sync"

	stdfont "golang.org/x/image/font"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/font/liberation"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/vgimg"
)

// WritePNG draws the chart (the same panels as the HTML report) as a PNG image of opt's size in pixels.
// The fonts (Liberation Sans) are compiled in: nothing is read from the machine or the network.
func WritePNG(w io.Writer, run Run, sum Summary, opt ChartOptions) error {
	width, height := opt.size()
	img := vgimg.NewWith(vgimg.UseWH(vg.Length(width), vg.Length(height)), vgimg.UseDPI(72))
	cv := &rasterCanvas{c: img, h: float64(height)}
	drawChart(cv, width, height, run, sum)
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(w, img.Image()); err != nil {
		return fmt.Errorf("report: encoding PNG: %w", err)
	}
	return nil
}

// --- fonts, shared by both canvases for measuring text ---

var (
	fontsOnce sync.Once
	fonts     *font.Cache
)

func face(size float64, bold bool) font.Face {
	fontsOnce.Do(func() { fonts = font.NewCache(liberation.Collection()) })
	f := font.Font{Typeface: "Liberation", Variant: "Sans"}
	if bold {
		f.Weight = stdfont.WeightBold
	}
	return fonts.Lookup(f, font.Length(size))
}

// textWidth is the width in pixels of s in Liberation Sans (metric-compatible with Arial and Helvetica,
// the SVG fallbacks).
func textWidth(s string, size float64, bold bool) float64 {
	fc := face(size, bold)
	return float64(fc.Width(s))
}

// --- raster canvas over gonum's vgimg (origin bottom left, 1 pt = 1 px at 72 dpi) ---

type rasterCanvas struct {
	c *vgimg.Canvas
	h float64
}

func (r *rasterCanvas) pt(p point) vg.Point {
	return vg.Point{X: vg.Length(p.x), Y: vg.Length(r.h - p.y)}
}

func (r *rasterCanvas) path(pts []point, closed bool) vg.Path {
	var p vg.Path
	for i, q := range pts {
		if i == 0 {
			p.Move(r.pt(q))
		} else {
			p.Line(r.pt(q))
		}
	}
	if closed {
		p.Close()
	}
	return p
}

func (r *rasterCanvas) polyline(pts []point, st stroke, _ string) {
	if len(pts) < 2 {
		return
	}
	r.c.SetColor(st.c)
	r.c.SetLineWidth(vg.Length(st.w))
	dash := make([]vg.Length, len(st.dash))
	for i, d := range st.dash {
		dash[i] = vg.Length(d)
	}
	r.c.SetLineDash(dash, 0)
	if len(st.dash) > 0 || len(pts) <= strokeChunk {
		r.c.Stroke(r.path(pts, false))
		return
	}
	// The rasterizer keeps the cells of a scan line in a list it searches linearly: a dense line of
	// thousands of points would be quadratic. Stroked in chunks sharing their end points, it is linear and
	// looks the same.
	for i := 0; i < len(pts)-1; i += strokeChunk {
		r.c.Stroke(r.path(pts[i:min(len(pts), i+strokeChunk+1)], false))
	}
}

const strokeChunk = 48

func (r *rasterCanvas) fillRect(x, y, w, h float64, c color.RGBA) {
	r.fillPolygon([]point{{x, y}, {x + w, y}, {x + w, y + h}, {x, y + h}}, c)
}

func (r *rasterCanvas) fillPolygon(pts []point, c color.RGBA) {
	r.c.SetColor(c)
	r.c.Fill(r.path(pts, true))
}

func (r *rasterCanvas) text(x, y float64, s string, st textStyle) {
	fc := face(st.size, st.bold)
	switch st.anchor {
	case anchorMiddle:
		x -= float64(fc.Width(s)) / 2
	case anchorEnd:
		x -= float64(fc.Width(s))
	}
	r.c.SetColor(st.c)
	r.c.FillString(fc, r.pt(point{x, y}), s)
}

func (r *rasterCanvas) beginTitle(string) {}
func (r *rasterCanvas) endTitle()         {}
