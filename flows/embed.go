// Package flows embeds the nurture flows shipped with longtail: one YAML
// file per flow, the format package nurture/flow reads and
// flow.schema.json describes. They run when nurture.flows_dir is not set.
package flows

import (
	"embed"
	"io/fs"
)

//go:embed *.yaml
var files embed.FS

// Dir is where the shipped flows live in the source tree, for messages.
const Dir = "flows"

// FS returns the shipped flow files.
func FS() fs.FS { return files }
