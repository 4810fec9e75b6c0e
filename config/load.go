// Package config loads longtail's configuration: one YAML file plus
// environment overrides by one rule, LONGTAIL_ + the key path upper-cased
// with "." → "_" (redis.url ↔ LONGTAIL_REDIS_URL). Unknown keys and wrong
// types are errors naming the file, line and key.
package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts every environment override.
const EnvPrefix = "LONGTAIL_"

// Load reads path (optional: "" or a missing default file means defaults
// only), applies environment overrides from environ (os.Environ form) and
// validates. explicit says the user named the file, so a missing file is
// an error rather than "use defaults".
func Load(path string, explicit bool, environ []string) (*Config, error) {
	cfg := Default()
	var pos positions
	if path != "" {
		data, err := os.ReadFile(path)
		switch {
		case err == nil:
			if pos, err = decodeYAML(path, data, &cfg); err != nil {
				return nil, err
			}
		case errors.Is(err, os.ErrNotExist) && !explicit:
		default:
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	if err := applyEnv(&cfg, environ); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, pos.locate(path, err)
	}
	cfg.applyDefaults()
	return &cfg, nil
}

// positions maps a key path to where the file set it.
type positions map[string][2]int

// locate prefixes each "config: KEY: ..." line of err with the file, line
// and column that set KEY (or its nearest parent), so a value that parses
// but is invalid is still found in the file at a glance.
func (p positions) locate(file string, err error) error {
	if len(p) == 0 {
		return err
	}
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		rest, ok := strings.CutPrefix(l, "config: ")
		if !ok {
			continue
		}
		key, _, _ := strings.Cut(rest, ": ")
		for k := key; k != ""; {
			if at, ok := p[k]; ok {
				lines[i] = fmt.Sprintf("config: %s:%d:%d: %s", file, at[0], at[1], rest)
				break
			}
			j := strings.LastIndexAny(k, ".[")
			if j < 0 {
				break
			}
			k = k[:j]
		}
	}
	return errors.New(strings.Join(lines, "\n"))
}

// decodeYAML walks the document against the struct so every unknown key and
// every wrongly typed value is reported with its line, all at once.
func decodeYAML(file string, data []byte, dst any) (positions, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("config: %s: %w", file, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil // empty file: defaults
	}
	var errs []error
	pos := positions{}
	walkNode(file, doc.Content[0], reflect.ValueOf(dst).Elem(), "", &errs, pos)
	return pos, errors.Join(errs...)
}

var durationType = reflect.TypeOf(time.Duration(0))

func walkNode(file string, n *yaml.Node, v reflect.Value, path string, errs *[]error, pos positions) {
	if path != "" {
		pos[path] = [2]int{n.Line, n.Column}
	}
	fail := func(n *yaml.Node, key, format string, args ...any) {
		if key == "" {
			key = "(top level)"
		}
		*errs = append(*errs, fmt.Errorf("config: %s:%d:%d: %s: %s", file, n.Line, n.Column, key, fmt.Sprintf(format, args...)))
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	switch {
	case v.Type() == durationType:
		if n.Kind != yaml.ScalarNode {
			fail(n, path, "want a duration such as 30s, 15m, 72h or 30d")
			return
		}
		d, err := ParseDuration(n.Value)
		if err != nil {
			fail(n, path, "%v", err)
			return
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			fail(n, path, "want a mapping of keys, got %s", nodeKind(n))
			return
		}
		fields := yamlFields(v.Type())
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			idx, ok := fields[k.Value]
			if !ok {
				fail(k, join(path, k.Value), "unknown key (known keys here: %s)", strings.Join(sortedKeys(fields), ", "))
				continue
			}
			walkNode(file, val, v.FieldByIndex(idx), join(path, k.Value), errs, pos)
		}
	case v.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			fail(n, path, "want a mapping, got %s", nodeKind(n))
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			kv := reflect.New(v.Type().Key()).Elem()
			if err := k.Decode(kv.Addr().Interface()); err != nil {
				fail(k, join(path, k.Value), "bad key: %v", err)
				continue
			}
			ev := reflect.New(v.Type().Elem()).Elem()
			if old := v.MapIndex(kv); old.IsValid() {
				ev.Set(old)
			}
			before := len(*errs)
			walkNode(file, val, ev, join(path, k.Value), errs, pos)
			if len(*errs) == before {
				v.SetMapIndex(kv, ev)
			}
		}
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		if n.Kind != yaml.SequenceNode {
			fail(n, path, "want a list, got %s", nodeKind(n))
			return
		}
		out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			walkNode(file, item, out.Index(i), fmt.Sprintf("%s[%d]", path, i), errs, pos)
		}
		v.Set(out)
	default:
		target := reflect.New(v.Type())
		if err := n.Decode(target.Interface()); err != nil {
			fail(n, path, "want %s: %v", typeName(v.Type()), cleanYAMLErr(err))
			return
		}
		v.Set(target.Elem())
	}
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice:
		return "a list of " + typeName(t.Elem())
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	}
	return t.String()
}

func cleanYAMLErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && strings.HasPrefix(s, "yaml:") {
		return strings.TrimSpace(s[i+2:])
	}
	return s
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps yaml key → field index, descending into inline structs.
func yamlFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for i := 0; i < t.NumField(); i++ {
		name, inline, ok := yamlKey(t.Field(i))
		switch {
		case !ok:
		case inline:
			for k, idx := range yamlFields(t.Field(i).Type) {
				out[k] = append([]int{i}, idx...)
			}
		default:
			out[name] = []int{i}
		}
	}
	return out
}

// yamlKey is the key of a struct field in a config file, as yaml.v3 reads
// it: the yaml tag's name, else the lower-cased field name; inline when its
// fields sit at this level; ok is false for unexported or "-" fields.
func yamlKey(f reflect.StructField) (name string, inline, ok bool) {
	if !f.IsExported() {
		return "", false, false
	}
	name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return "", false, false
	}
	if strings.Contains(opts, "inline") {
		return "", true, true
	}
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name, false, true
}

func sortedKeys(m map[string][]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ParseDuration accepts Go durations plus a "d" (24h) suffix, since half
// lives and windows are naturally said in days: "30d", "1d12h", "90s".
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	if i := strings.IndexByte(s, 'd'); i > 0 {
		days, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration (examples: 30s, 15m, 72h, 30d)", s)
		}
		rest := time.Duration(0)
		if s[i+1:] != "" {
			if rest, err = time.ParseDuration(s[i+1:]); err != nil {
				return 0, fmt.Errorf("%q is not a duration (examples: 30s, 15m, 72h, 30d)", s)
			}
		}
		return time.Duration(days*float64(24*time.Hour)) + rest, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (examples: 30s, 15m, 72h, 30d)", s)
	}
	return d, nil
}
