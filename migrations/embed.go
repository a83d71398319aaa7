// Package migrations holds carry's SQL migrations, embedded into the binary and applied at start-up by
// goose (pkg/store). Files are named NNNNN_description.sql and never edited once released: add a new one.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS
