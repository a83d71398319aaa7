package config

import (
	"reflect"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"go.yaml.in/yaml/v3"
)

// Render returns the merged configuration as YAML in the layout of config.example.yaml. Secrets show only
// whether they are set.
func (c *Config) Render() ([]byte, error) {
	return yaml.Marshal(c.Map())
}

// Map returns the configuration as nested maps of printable values, secrets redacted.
func (c *Config) Map() map[string]any {
	return structMap(reflect.ValueOf(*c))
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	secretType   = reflect.TypeOf(Secret(""))
)

func structMap(v reflect.Value) map[string]any {
	out := map[string]any{}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = printable(v.Field(i))
	}
	return out
}

func printable(f reflect.Value) any {
	switch f.Type() {
	case decimalType:
		return f.Interface().(decimal.Decimal).String()
	case durationType:
		return f.Interface().(time.Duration).String()
	case secretType:
		if f.Interface().(Secret).IsSet() {
			return "(set, redacted)"
		}
		return "(not set)"
	}
	switch f.Kind() {
	case reflect.Struct:
		return structMap(f)
	case reflect.Slice:
		items := make([]any, f.Len())
		for i := range items {
			items[i] = printable(f.Index(i))
		}
		return items
	}
	return f.Interface()
}
