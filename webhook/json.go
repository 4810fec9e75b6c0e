package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/longtailhq/longtail/event"
)

// SplitItems accepts one JSON object or an array of them, as providers
// that batch (or not, depending on settings) send them.
func SplitItems(body []byte) ([]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return []json.RawMessage{trimmed}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(trimmed, &items); err != nil {
		return nil, fmt.Errorf("body is neither a JSON object nor an array of objects: %v", err)
	}
	return items, nil
}

// Correlate copies longtail's correlation keys (event.MetaContactID,
// MetaFlow, MetaStep, MetaMessageID) from a provider's metadata object into
// ev. Values are strings when longtail sent the mail; a number is taken as
// its decimal text. where names the object in errors ("Metadata").
func Correlate(meta map[string]json.RawMessage, ev *event.Event, where string) error {
	for _, c := range [...]struct {
		key string
		dst *string
	}{
		{event.MetaContactID, &ev.ContactID},
		{event.MetaFlow, &ev.Flow},
		{event.MetaStep, &ev.Step},
		{event.MetaMessageID, &ev.MessageID},
	} {
		v, ok := meta[c.key]
		if !ok {
			continue
		}
		s := ScalarText(v)
		if s == "" && string(v) != `""` && string(v) != "null" {
			return fmt.Errorf("%s.%s: want a string or a number", where, c.key)
		}
		if s != "" {
			*c.dst = s
		}
	}
	return nil
}

// ScalarText reads a JSON string, or a number as its decimal text (ids and
// metadata senders write either way); anything else is "".
func ScalarText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}
