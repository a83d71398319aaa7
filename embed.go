// Package carry holds files embedded from the repository root: the example configuration, which is also
// the binary's built-in defaults, so the two cannot drift apart.
package carry

import _ "embed"

// DefaultConfigYAML is config.example.yaml: every key carry knows, with its default value.
//
//go:embed config.example.yaml
var DefaultConfigYAML []byte
