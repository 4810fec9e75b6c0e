// Package templates embeds longtail's email templates in the binary.
//
// rep/ holds the notifications sent to reps, one file per kind, locale and
// format: handoff.<locale>.txt, handoff.<locale>.html, digest.<locale>.txt,
// digest.<locale>.html. Each .txt file also defines a "subject" template.
// "en" must exist for every kind; other locales fall back to it.
package templates

import "embed"

// FS holds the template tree; a new top-level folder of templates must be
// added to the embed directive below.
//
//go:embed rep
var FS embed.FS
