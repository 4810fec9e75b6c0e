package flow

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Options tune Load and Parse.
type Options struct {
	// Dir is the name the files are known by, put in front of their paths
	// in errors and Flow.File ("flows", or the directory given on the
	// command line). Empty: paths as in the fs.FS.
	Dir string
	// Template, when set, is asked about every send step's template and
	// returns nil when it exists (and renders); its error is reported at
	// the step. Nil: templates are not checked.
	Template func(name string) error
	// Segments, when not empty, are the RFM segment names flows may use
	// (audience.segments, segment triggers, branch conditions): a name not
	// among them is an error rather than a flow that never matches.
	Segments []string
}

// Load reads every flow file (*.yaml, *.yml, in any folder not starting
// with ".") of fsys. It returns every problem of every file, as an
// ErrorList, and no Set when there is any: a set of flows is used whole or
// not at all. Flow ids must be unique across the files.
func Load(fsys fs.FS, opt Options) (*Set, error) {
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if ext := path.Ext(p); (ext == ".yaml" || ext == ".yml") && !strings.HasPrefix(d.Name(), ".") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("flow: read %s: %w", displayDir(opt.Dir), err)
	}
	slices.Sort(files)
	var errs ErrorList
	set := &Set{byID: map[string]*Flow{}}
	idAt := map[string]*Error{} // flow id → where it was first defined
	for _, p := range files {
		name := displayName(opt.Dir, p)
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			errs = append(errs, &Error{File: name, Line: 1, Col: 1, Msg: err.Error()})
			continue
		}
		f, idNode, ferrs := parse(name, data, opt)
		errs = append(errs, ferrs...)
		if f == nil || f.ID == "" {
			continue
		}
		if first, dup := idAt[f.ID]; dup {
			errs = append(errs, &Error{File: name, Line: idNode.Line, Col: idNode.Column, Field: "id",
				Msg: fmt.Sprintf("flow id %q is already used by %s:%d", f.ID, first.File, first.Line)})
			continue
		}
		idAt[f.ID] = &Error{File: name, Line: idNode.Line}
		if len(ferrs) == 0 {
			set.flows = append(set.flows, f)
			set.byID[f.ID] = f
		}
	}
	if len(errs) > 0 {
		errs.sort()
		return nil, errs
	}
	slices.SortFunc(set.flows, func(a, b *Flow) int { return strings.Compare(a.ID, b.ID) })
	return set, nil
}

// Parse reads one flow file; file names it in errors. Errors are an
// ErrorList.
func Parse(file string, data []byte, opt Options) (*Flow, error) {
	f, _, errs := parse(file, data, opt)
	if len(errs) > 0 {
		errs.sort()
		return nil, errs
	}
	return f, nil
}

func displayDir(dir string) string {
	if dir == "" {
		return "flows"
	}
	return dir
}

func displayName(dir, p string) string {
	if dir == "" {
		return p
	}
	return filepath.Join(dir, filepath.FromSlash(p))
}

var yamlLineErr = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse returns the flow (nil when the file could not be read as one),
// the node of its id, and every problem found.
func parse(file string, data []byte, opt Options) (*Flow, *yaml.Node, ErrorList) {
	p := &parser{file: file, opt: opt}
	if len(opt.Segments) > 0 {
		p.segments = map[string]bool{}
		for _, s := range opt.Segments {
			p.segments[SegmentKey(s)] = true
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errs = append(p.errs, &Error{File: file, Line: 1, Col: 1, Msg: "the file is empty: a flow file holds one flow"})
			return nil, nil, p.errs
		}
		line, msg := 1, err.Error()
		if m := yamlLineErr.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		p.errs = append(p.errs, &Error{File: file, Line: line, Col: 1, Field: "yaml", Msg: msg})
		return nil, nil, p.errs
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.errs = append(p.errs, &Error{File: file, Line: extra.Line, Col: extra.Column, Field: "yaml",
			Msg: "a second document: one flow per file"})
	} else if !errors.Is(err, io.EOF) {
		p.errs = append(p.errs, &Error{File: file, Line: 1, Col: 1, Field: "yaml", Msg: err.Error()})
	}
	if len(doc.Content) == 0 {
		p.errs = append(p.errs, &Error{File: file, Line: 1, Col: 1, Msg: "the file is empty: a flow file holds one flow"})
		return nil, nil, p.errs
	}
	f, idNode := p.flow(doc.Content[0])
	return f, idNode, p.errs
}
