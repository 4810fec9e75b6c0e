package store

import (
	"encoding/binary"
	"fmt"
)

// PartnerHead is the partner hash's "h" (see the package doc).
type PartnerHead struct {
	N         float64
	Version   float64 // writes so far
	Seq       float64 // crossings so far
	Pending   float64 // seq of the crossing not yet acknowledged, 0: none
	CrossedAt float64 // unix ms of the last crossing
	Last      float64 // unix ms of the last scored engagement
	Threshold float64 // the threshold it was last scored against
	Fit       float64
}

// PartnerHeadLen is the length of a packed PartnerHead.
const PartnerHeadLen = 64

// ParsePartnerHead reads a packed "h"; a missing one ("") is all zero.
func ParsePartnerHead(s string) PartnerHead {
	return PartnerHead{Float(s, 0), Float(s, 1), Float(s, 2), Float(s, 3), Float(s, 4), Float(s, 5), Float(s, 6), Float(s, 7)}
}

// Pack packs h as stored.
func (h PartnerHead) Pack() string {
	return PackFloats(h.N, h.Version, h.Seq, h.Pending, h.CrossedAt, h.Last, h.Threshold, h.Fit)
}

// PartnerCommit is what a batch adds to its contact's partner, all
// decided in Go: the commit (ApplyScript, Partner.Commit) only adds and
// compares.
type PartnerCommit struct {
	// DN is added to the partner's N.
	DN float64
	// CrossAt: an armed partner crosses when its N after the batch is at
	// least CrossAt (+Inf when the batch cannot make it cross).
	CrossAt float64
	// RearmAt: a disarmed partner re-arms when its N before or after the
	// batch is below RearmAt.
	RearmAt float64
	// Now is the time of a crossing (unix ms); Last the batch's last scored
	// engagement (unix ms, 0: none), kept when later than the stored one.
	Now, Last float64
	// Threshold and Fit replace the stored ones.
	Threshold, Fit float64
	// Fields are hash fields (besides h and dis) and what to add to each.
	Fields []string
	Deltas []float64
	// Entry is the contact's entry for the partner's contacts list when
	// the contact is new (AppendEntry), else "".
	Entry string
}

// Partner is a partner's scoring state in memory, as the partner hash and
// contacts list hold it: the Model's partner.
type Partner struct {
	Head     PartnerHead
	Disarmed bool
	Fields   map[string]float64
	Contacts string // the contacts list (AppendEntry)
}

// Commit applies c as ApplyScript does to the partner hash and returns
// whether the partner crossed. Keep the two in step
// (TestCommitMatchesScript).
func (p *Partner) Commit(c *PartnerCommit) (crossed bool) {
	old := p.Head.N
	p.Head.Version++
	p.Head.N = old + c.DN
	if p.Fields == nil {
		p.Fields = map[string]float64{}
	}
	for i, f := range c.Fields {
		if v, ok := p.Fields[f]; ok {
			p.Fields[f] = v + c.Deltas[i]
		} else {
			p.Fields[f] = c.Deltas[i]
		}
	}
	if c.Last > p.Head.Last {
		p.Head.Last = c.Last
	}
	p.Contacts += c.Entry
	if p.Disarmed && min(old, p.Head.N) < c.RearmAt {
		p.Disarmed = false
	}
	if !p.Disarmed && p.Head.N >= c.CrossAt {
		p.Head.Seq++
		p.Head.Pending, p.Head.CrossedAt, crossed = p.Head.Seq, c.Now, true
		p.Disarmed = true
	}
	p.Head.Threshold, p.Head.Fit = c.Threshold, c.Fit
	return crossed
}

// AppendEntry appends a contact's entry in the partner's contacts list:
// the id's length as a little-endian uint16, then the id.
func AppendEntry(b []byte, cid string) []byte {
	return append(binary.LittleEndian.AppendUint16(b, uint16(len(cid))), cid...)
}

// ParseEntries reads a partner's contacts list, each id once.
func ParseEntries(s string) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	for len(s) > 0 {
		if len(s) < 2 || len(s) < 2+int(binary.LittleEndian.Uint16([]byte(s))) {
			return nil, fmt.Errorf("partner contacts list cut short: %q", s)
		}
		n := int(binary.LittleEndian.Uint16([]byte(s)))
		// A contact whose scores were deleted joins again on its next batch.
		if id := s[2 : 2+n]; !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
		s = s[2+n:]
	}
	return ids, nil
}
