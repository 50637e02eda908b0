package web

import (
	"fmt"
	"html/template"
	"io/fs"
	"slices"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// pageNames are the page templates; each is parsed with base.html.
func pageNames() []string {
	return []string{"overview", "queue", "group", "bulk", "groups", "ledger", "run", "login", "error", "policy", "sources", "restore", "cycles"}
}

// parsePages parses every page template with the layout.
func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"fmtTime": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.Local().Format("2006-01-02 15:04:05")
		},
		"until": func(now, t time.Time) string {
			d := t.Sub(now).Round(time.Second)
			if d <= 0 {
				return "due"
			}
			return "in " + d.String()
		},
		"join":     strings.Join,
		"hasState": func(states []cm.GroupState, s cm.GroupState) bool { return slices.Contains(states, s) },
		"sortLabel": func(k string) string {
			return map[string]string{
				"review": "needs a person first", "confidence": "confidence ↑", "-confidence": "confidence ↓",
				"size": "size ↑", "-size": "size ↓", "state": "state", "id": "id",
			}[k]
		},
	}
	out := map[string]*template.Template{}
	for _, name := range pageNames() {
		t, err := template.New(name).Funcs(funcs).ParseFS(assets, "templates/base.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		out[name] = t
	}
	if _, err := fs.Stat(assets, "static/app.js"); err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	return out, nil
}
