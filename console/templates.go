package console

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/smdpp/smdpp/store"
)

// pageNames are the page templates under assets/templates; each is parsed with layout.html and
// partials.html, and defines "content".
var pageNames = []string{"login", "error", "dashboard", "inventory", "orders", "order-new", "order", "eid", "usage", "audit"}

var templateFuncs = template.FuncMap{
	// time formats a time for people, in UTC.
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
	},
	// isotime formats a time for a <time datetime> attribute.
	"isotime": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"lower":   func(v any) string { return strings.ToLower(fmt.Sprint(v)) },
	"size": func(n int) string {
		if n < 1024 {
			return fmt.Sprintf("%d bytes", n)
		}
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	},
	// opsel is the argument of the "operator-filter" partial.
	"opsel": func(ops []store.Operator, chosen string) map[string]any {
		return map[string]any{"Operators": ops, "Chosen": chosen}
	},
	"dash": func(s string) string {
		if s == "" {
			return "–"
		}
		return s
	},
}

func parsePages() map[string]*template.Template {
	base := template.Must(template.New("").Funcs(templateFuncs).ParseFS(assets,
		"assets/templates/layout.html", "assets/templates/partials.html"))
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		pages[name] = template.Must(template.Must(base.Clone()).ParseFS(assets, "assets/templates/"+name+".html"))
	}
	return pages
}
