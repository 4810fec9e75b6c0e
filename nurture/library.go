package nurture

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"

	"github.com/longtailhq/longtail/flows"
	"github.com/longtailhq/longtail/nurture/flow"
	"github.com/longtailhq/longtail/nurture/message"
	"github.com/longtailhq/longtail/templates"
)

// Library is what the engine runs: the flows and the templates they send,
// loaded and checked against each other.
type Library struct {
	Flows     *flow.Set
	Templates *message.Templates
}

// Source is a directory of files and the name it goes by in messages.
type Source struct {
	FS   fs.FS
	Name string
}

// DirSource is a directory on disk.
func DirSource(dir string) Source { return Source{FS: os.DirFS(dir), Name: dir} }

// FlowsSource is nurture.flows_dir, or the shipped flows when it is empty.
func (c Config) FlowsSource() Source {
	if c.FlowsDir != "" {
		return DirSource(c.FlowsDir)
	}
	return Source{FS: flows.FS(), Name: flows.Dir}
}

// TemplatesSource is nurture.templates_dir, or the shipped templates when
// it is empty.
func (c Config) TemplatesSource() (Source, error) {
	if c.TemplatesDir != "" {
		return DirSource(c.TemplatesDir), nil
	}
	sub, err := fs.Sub(templates.FS, "nurture")
	if err != nil {
		return Source{}, fmt.Errorf("nurture: embedded templates: %w", err)
	}
	return Source{FS: sub, Name: message.EmbeddedDir}, nil
}

// LoadLibrary loads the templates and the flows, checking that every send
// step names a template. segments, when given, are the RFM segment names
// flows may use. It reports every problem of both, as one flow.ErrorList
// in file order, and returns no Library when there is any: a set is run
// whole or not at all.
func LoadLibrary(flowSrc, tmplSrc Source, segments []string) (*Library, error) {
	var problems flow.ErrorList
	// keep adds the problems of err; anything that is not a list of
	// problems (an unreadable directory) is returned as it is.
	keep := func(err error) error {
		var list flow.ErrorList
		if errors.As(err, &list) {
			problems = append(problems, list...)
			return nil
		}
		return err
	}
	tmpl, err := message.Load(tmplSrc.FS, tmplSrc.Name)
	var check func(name string) error
	if err == nil {
		check = tmpl.Check
	} else {
		if err := keep(err); err != nil {
			return nil, err
		}
		// A broken template is reported where it is; a flow step is told
		// only about a template that does not exist at all.
		names, err := message.Names(tmplSrc.FS)
		if err != nil {
			return nil, err
		}
		check = func(name string) error {
			if slices.Contains(names, name) {
				return nil
			}
			return fmt.Errorf("%w %q (want %s/%s.%s.txt)", message.ErrNoTemplate, name, tmplSrc.Name, name, message.DefaultLocale)
		}
	}
	set, err := flow.Load(flowSrc.FS, flow.Options{Dir: flowSrc.Name, Template: check, Segments: segments})
	if err != nil {
		if err := keep(err); err != nil {
			return nil, err
		}
	}
	if len(problems) > 0 {
		slices.SortStableFunc(problems, func(a, b *flow.Error) int {
			return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
		})
		return nil, problems
	}
	return &Library{Flows: set, Templates: tmpl}, nil
}

// Library loads the configured flows and templates (see LoadLibrary).
func (c Config) Library(segments []string) (*Library, error) {
	ts, err := c.TemplatesSource()
	if err != nil {
		return nil, err
	}
	return LoadLibrary(c.FlowsSource(), ts, segments)
}
