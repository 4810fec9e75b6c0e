package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// EnvName is the environment variable that overrides a key path.
func EnvName(path string) string {
	return EnvPrefix + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(path))
}

// applyEnv sets every scalar or list field whose variable is present. Maps
// and lists of structs are file-only: their keys are data, not fixed names,
// so no variable name could be derived from them reliably.
func applyEnv(cfg *Config, environ []string) error {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, EnvPrefix) {
			env[k] = v
		}
	}
	if len(env) == 0 {
		return nil
	}
	var errs []error
	known := map[string]bool{}
	walkLeaves(reflect.ValueOf(cfg).Elem(), "", func(path string, v reflect.Value, _ reflect.StructField) {
		name := EnvName(path)
		known[name] = true
		raw, ok := env[name]
		if !ok {
			return
		}
		if err := setScalar(v, raw); err != nil {
			errs = append(errs, fmt.Errorf("config: environment %s (key %s): %v", name, path, err))
		}
	})
	for k := range env {
		if !known[k] && !ignoredEnv[k] {
			errs = append(errs, fmt.Errorf("config: environment %s names no configuration key", k))
		}
	}
	return errors.Join(errs...)
}

// ignoredEnv lists LONGTAIL_ variables that are not configuration keys.
var ignoredEnv = map[string]bool{
	"LONGTAIL_TEST_REDIS_URL": true,
	"LONGTAIL_CONFIG":         true,
}

// walkLeaves calls fn for every scalar or scalar-list field with its key path.
func walkLeaves(v reflect.Value, path string, fn func(path string, v reflect.Value, f reflect.StructField)) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, inline, ok := yamlKey(f)
		if !ok {
			continue
		}
		fv := v.Field(i)
		if inline {
			walkLeaves(fv, path, fn)
			continue
		}
		p := join(path, name)
		switch {
		case fv.Type() == durationType:
			fn(p, fv, f)
		case fv.Kind() == reflect.Struct:
			walkLeaves(fv, p, fn)
		case fv.Kind() == reflect.Map, fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct:
			// data-keyed: file only
		default:
			fn(p, fv, f)
		}
	}
}

func setScalar(v reflect.Value, raw string) error {
	if v.Kind() == reflect.Pointer {
		nv := reflect.New(v.Type().Elem())
		if err := setScalar(nv.Elem(), raw); err != nil {
			return err
		}
		v.Set(nv)
		return nil
	}
	if v.Type() == durationType {
		d, err := ParseDuration(raw)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("%q is not true or false", raw)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not an integer", raw)
		}
		v.SetInt(n)
	case reflect.Float64, reflect.Float32:
		f, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", raw)
		}
		v.SetFloat(f)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("lists of %s cannot be set from the environment", v.Type().Elem())
		}
		var items []string
		for _, s := range strings.Split(raw, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		v.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("type %s cannot be set from the environment", v.Type())
	}
	return nil
}
