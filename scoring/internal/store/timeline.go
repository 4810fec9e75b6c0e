package store

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// Item is a timeline item as stored: one letter keys and the event type's
// code (see the package doc).
type Item struct {
	ID         string    `json:"i"`
	Type       string    `json:"t"` // type code
	OccurredAt time.Time `json:"o"`
	Topic      string    `json:"n,omitempty"`
	Title      string    `json:"l,omitempty"`
	URL        string    `json:"u,omitempty"`
	Source     string    `json:"s,omitempty"`
	MessageID  string    `json:"m,omitempty"`
	Points     float64   `json:"p"`
	Filtered   string    `json:"f,omitempty"`
}

// ParseItem decodes a stored timeline item.
func ParseItem(b []byte) (Item, error) {
	var it Item
	if err := json.Unmarshal(b, &it); err != nil {
		return Item{}, err
	}
	return it, nil
}

// AppendItem appends the JSON encoding/json makes of it (HTML characters,
// U+2028 and U+2029 escaped, invalid UTF-8 replaced; points formatted
// with strconv's 'g', which encoding/json reads the same), without
// reflection: every batch encodes its items.
func AppendItem(b []byte, it *Item) ([]byte, error) {
	b = append(b, `{"i":`...)
	b = appendJSONString(b, it.ID)
	b = append(b, `,"t":`...)
	b = appendJSONString(b, it.Type)
	b = append(b, `,"o":"`...)
	var err error
	if b, err = it.OccurredAt.AppendText(b); err != nil {
		return b, fmt.Errorf("occurred_at: %w", err)
	}
	b = append(b, '"')
	for _, f := range [...]struct{ name, v string }{
		{`,"n":`, it.Topic}, {`,"l":`, it.Title}, {`,"u":`, it.URL},
		{`,"s":`, it.Source}, {`,"m":`, it.MessageID},
	} {
		if f.v != "" {
			b = append(b, f.name...)
			b = appendJSONString(b, f.v)
		}
	}
	b = append(b, `,"p":`...)
	b = strconv.AppendFloat(b, it.Points, 'g', -1, 64)
	if it.Filtered != "" {
		b = append(b, `,"f":`...)
		b = appendJSONString(b, it.Filtered)
	}
	return append(b, '}'), nil
}

// appendJSONString quotes s as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
