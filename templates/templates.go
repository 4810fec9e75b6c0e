// Package templates embeds longtail's email templates in the binary.
//
// rep/ holds the notifications sent to reps, one file per kind, locale and
// format: handoff.<locale>.txt, handoff.<locale>.html, digest.<locale>.txt,
// digest.<locale>.html. Each .txt file also defines a "subject" template.
// "en" must exist for every kind; other locales fall back to it.
//
// nurture/ holds the nurture emails that flows send (flows/*.yaml name
// them): <name>.<locale>.txt, which also defines "subject", and an
// optional <name>.<locale>.html; package nurture/message loads them.
package templates

import "embed"

// FS holds the template tree; a new top-level folder of templates must be
// added to the embed directive below.
//
//go:embed rep nurture
var FS embed.FS
