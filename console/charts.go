package console

import (
	"fmt"
	"math"
	"strconv"
)

// Charts are drawn on the server as SVG: the numbers are computed here and the templates
// (assets/templates/partials.html, "hbars" and "columns") write the markup. Colours come from CSS
// classes (s0, s1, s2, mark), so the style sheet decides them and the content security policy
// needs no inline styles. Every chart also carries its numbers as text.

// hbarChart is a horizontal bar chart: one row per item, each bar made of stacked segments, the
// label and the numbers in HTML beside an SVG bar (so the text stays readable at phone width).
type hbarChart struct {
	Title  string
	Series []legendItem
	Rows   []hbarRow
	// Empty is shown instead of the rows when there are none.
	Empty string
}

type legendItem struct {
	Name  string
	Class string
}

type hbarRow struct {
	Label string
	// Note is the numbers in words, e.g. "12 of 40 available".
	Note string
	// Segments are percentages of the chart's width, in series order.
	Segments []hbarSegment
	// Mark, when HasMark, is a marker (a threshold) at that percentage.
	Mark    float64
	HasMark bool
}

type hbarSegment struct {
	X, W  float64
	Class string
}

// seg is one value of a bar and its colour class.
type seg struct {
	value float64
	class string
}

// newHbarRow lays out the segments of one row, stacked, against scale (the value of a full bar).
func newHbarRow(label, note string, scale float64, segs ...seg) hbarRow {
	row := hbarRow{Label: label, Note: note}
	x := 0.0
	for _, sg := range segs {
		if sg.value <= 0 || scale <= 0 {
			continue
		}
		w := 100 * sg.value / scale
		row.Segments = append(row.Segments, hbarSegment{X: round2(x), W: round2(w), Class: sg.class})
		x += w
	}
	return row
}

// columnChart is a time series as vertical bars, one SVG with a y axis and gridlines.
type columnChart struct {
	Title, Desc string
	ID          string
	W, H        float64
	PlotLeft    float64
	PlotBottom  float64
	Bars        []column
	Grid        []gridLine
	Ticks       []tick
	Total       int
	Empty       bool
}

type column struct {
	X, Y, W, H float64
	Label      string
	Value      int
}

type gridLine struct {
	Y     float64
	Label string
}

type tick struct {
	X     float64
	Label string
}

// columnCharts is one time series drawn twice: wide for laptops, narrow (fewer axis labels, larger
// text relative to its width) for phones; the style sheet shows one of them.
type columnCharts struct {
	Wide, Narrow columnChart
}

// Geometry of column charts, in SVG user units.
const (
	colWide, colNarrow, colH          = 960.0, 400.0, 240.0
	colLeft, colRight, colTop, colBot = 40.0, 8.0, 10.0, 28.0
)

// newColumnCharts lays out values (one per bucket) with labels, in the wide and the narrow form;
// every tickEvery-th bucket gets its label under the axis of the wide one.
func newColumnCharts(id, title, desc string, labels []string, values []int, tickEvery int) columnCharts {
	return columnCharts{
		Wide:   newColumnChart(id, title, desc, labels, values, tickEvery, colWide),
		Narrow: newColumnChart(id+"-narrow", title, desc, labels, values, 2*tickEvery, colNarrow),
	}
}

func newColumnChart(id, title, desc string, labels []string, values []int, tickEvery int, colW float64) columnChart {
	ch := columnChart{ID: id, Title: title, Desc: desc, W: colW, H: colH, PlotLeft: colLeft, PlotBottom: colH - colBot}
	maxV := 0
	for _, v := range values {
		ch.Total += v
		maxV = max(maxV, v)
	}
	ch.Empty = ch.Total == 0
	top := niceCeil(float64(maxV))
	plotW, plotH := colW-colLeft-colRight, colH-colTop-colBot
	n := len(values)
	if n == 0 {
		return ch
	}
	slot := plotW / float64(n)
	barW := math.Max(1, slot*0.75)
	for i, v := range values {
		h := plotH * float64(v) / top
		x := colLeft + float64(i)*slot + (slot-barW)/2
		ch.Bars = append(ch.Bars, column{X: round2(x), Y: round2(colTop + plotH - h), W: round2(barW), H: round2(h),
			Label: labels[i], Value: v})
		if tickEvery > 0 && i%tickEvery == 0 {
			ch.Ticks = append(ch.Ticks, tick{X: round2(colLeft + float64(i)*slot + slot/2), Label: labels[i]})
		}
	}
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		ch.Grid = append(ch.Grid, gridLine{Y: round2(colTop + plotH - plotH*float64(i)/4), Label: trimFloat(v)})
	}
	return ch
}

// niceCeil returns the smallest of 4, 8, 20, 40, … (a multiple of 4 of the form 1, 2 or 5 ×
// 10^k) at or above v, so that four gridlines fall on round numbers; at least 4.
func niceCeil(v float64) float64 {
	if v <= 4 {
		return 4
	}
	for p := 1.0; ; p *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if c := 4 * m * p; c >= v {
				return c
			}
		}
	}
}

func trimFloat(v float64) string {
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// percent formats part of whole as a percentage with one decimal, or "–" when whole is 0.
func percent(part, whole int) string {
	if whole == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f %%", 100*float64(part)/float64(whole))
}
