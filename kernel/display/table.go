package display

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Table is an HTML table of results. Cells may be any value: floats are printed with Digits
// decimals, integers and other values with fmt's %v, and a [template.HTML] value is inserted as is
// (for links or emphasis); everything else is escaped. Numeric cells are right-aligned.
type Table struct {
	// Caption, if set, is shown above the table.
	Caption string
	// Header names the columns; it may be empty.
	Header []string
	// Rows are the table's rows; they may have different lengths.
	Rows [][]any
	// Digits is the number of decimals of floating-point cells; 0 means 4 and a negative value the
	// shortest representation that reads back exactly.
	Digits int
}

// AddRow appends a row.
func (t *Table) AddRow(cells ...any) { t.Rows = append(t.Rows, cells) }

// HTML renders the table.
func (t *Table) HTML() string {
	var b strings.Builder
	b.WriteString(`<table class="mimicry-table" style="border-collapse:collapse">`)
	if t.Caption != "" {
		fmt.Fprintf(&b, `<caption style="font-weight:bold;text-align:left">%s</caption>`, html.EscapeString(t.Caption))
	}
	if len(t.Header) > 0 {
		b.WriteString("<thead><tr>")
		for _, h := range t.Header {
			fmt.Fprintf(&b, `<th style="padding:2px 8px;border-bottom:1px solid #888;text-align:left">%s</th>`, html.EscapeString(h))
		}
		b.WriteString("</tr></thead>")
	}
	b.WriteString("<tbody>")
	for _, row := range t.Rows {
		b.WriteString("<tr>")
		for _, v := range row {
			text, numeric := t.cell(v)
			align := "left"
			if numeric {
				align = "right"
			}
			fmt.Fprintf(&b, `<td style="padding:2px 8px;text-align:%s">%s</td>`, align, text)
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</tbody></table>")
	return b.String()
}

// cell renders one value as HTML, and tells whether it is a number.
func (t *Table) cell(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case template.HTML:
		return string(x), false
	case float64:
		return t.float(x, 64), true
	case float32:
		return t.float(float64(x), 32), true
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(x), true
	case fmt.Stringer:
		return html.EscapeString(x.String()), false
	}
	return html.EscapeString(fmt.Sprint(v)), false
}

// float formats a floating-point cell.
func (t *Table) float(x float64, bits int) string {
	switch {
	case math.IsNaN(x):
		return "NaN"
	case math.IsInf(x, 1):
		return "+Inf"
	case math.IsInf(x, -1):
		return "−Inf"
	}
	digits := t.Digits
	if digits == 0 {
		digits = 4
	}
	if digits < 0 {
		return strconv.FormatFloat(x, 'g', -1, bits)
	}
	return strconv.FormatFloat(x, 'f', digits, bits)
}

// Show shows the table on the current Output.
func (t *Table) Show() error { return Current().Display(t.HTML()) }
