package event

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// BatchItem is one undecoded event of a batch. Line is its 1-based line in
// NDJSON, 0 for an item of a JSON array.
type BatchItem struct {
	JSON json.RawMessage
	Line int
}

// SplitBatch splits a JSON array, or NDJSON (one event per line, blank
// lines skipped), into undecoded items, so each can be decoded and
// refused on its own. An empty body is no items.
func SplitBatch(body []byte) ([]BatchItem, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var raws []json.RawMessage
		if err := json.Unmarshal(trimmed, &raws); err != nil {
			return nil, fmt.Errorf("not a JSON array of events: %v", err)
		}
		items := make([]BatchItem, len(raws))
		for i, r := range raws {
			items[i] = BatchItem{JSON: r}
		}
		return items, nil
	}
	var items []BatchItem
	for i, line := range bytes.Split(body, []byte("\n")) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			items = append(items, BatchItem{JSON: line, Line: i + 1})
		}
	}
	return items, nil
}
