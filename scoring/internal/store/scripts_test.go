package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/scriptrun"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// keysOf are ApplyScript's keys for contact c of partner p, as scoring
// builds them.
func keysOf(p, c string) (string, [ApplyKeys]int) {
	var ends [ApplyKeys]int
	all := ""
	for k, suffix := range []string{"c:" + c, "t:" + c, "p", "pc"} {
		all += "lt:{p:" + p + "}:s:" + suffix
		ends[k] = len(all)
	}
	return all, ends
}

// TestCommitMatchesScript: ApplyScript and Partner.Commit, Go's copy of its
// arithmetic for the Model, leave the same partner from random commits
// (crossings, re-arms, fields), on redis-server and on the embedded Redis;
// and the script writes the contact as Write says, only when it is still
// the string read.
func TestCommitMatchesScript(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	mini := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { mini.Close() })
	for name, rdb := range map[string]*redis.Client{"redis-server": redistest.New(t), "embedded": mini} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(uint64(len(name)), 7))
			var p Partner
			var stored string // the contact string
			var timeline []string
			keys, ends := keysOf("p", "c")
			fields := []string{"i|security", "i|storage", "f20412", "m20412"}
			for i := range 200 {
				// Levels around the partner's N before and after, so that
				// every branch runs.
				n := p.Head.N
				pc := &PartnerCommit{
					DN: float64(rng.IntN(21) - 10), CrossAt: math.Inf(1), RearmAt: n + float64(rng.IntN(21)-10),
					Now: float64(1_700_000_000_000 + i), Last: float64(rng.IntN(3) * (1_700_000_000_000 + i)),
					Threshold: 30, Fit: float64(rng.IntN(3)),
				}
				if pc.DN > 0 {
					pc.CrossAt = n + pc.DN + float64(rng.IntN(5)-2)
				}
				for _, f := range fields {
					if rng.IntN(2) == 0 {
						pc.Fields, pc.Deltas = append(pc.Fields, f), append(pc.Deltas, rng.Float64()*10-2)
					}
				}
				var h Header
				if stored != "" {
					h, _ = ParseHeader(stored)
				}
				h.N += pc.DN
				binary.LittleEndian.PutUint64(h.Token[:], rng.Uint64())
				records := []byte(fmt.Sprintf("i%08d\x00\x00\x00\x00", i))
				if stored == "" {
					pc.Entry = string(AppendEntry(nil, "c"))
				}
				w := Next(stored, h, records, int64(i), 10_000)
				c := &Commit{Keys: keys, Ends: ends, Read: stored, Write: w, Timeline: []byte(fmt.Sprint("item", i)), TimelineLen: 5, Partner: pc}
				if i%7 == 3 {
					c.Timeline = nil
				}
				if i%11 == 5 {
					// Judged against an older read: stale, nothing written.
					stale := *c
					stale.Read = stored[:HeaderLen-TokenLen] + "XXXXXXXX" + stored[HeaderLen:]
					if a := run(t, ctx, rdb, &stale); !a.Stale {
						t.Fatalf("commit %d: a stale commit was applied: %+v", i, a)
					}
				}
				a := run(t, ctx, rdb, c)
				crossed := p.Commit(pc)
				stored = w.Apply(stored)
				if c.Timeline != nil {
					timeline = append(timeline, string(c.Timeline))
					timeline = timeline[max(0, len(timeline)-5):]
				}
				want := Applied{N: p.Head.N, Version: p.Head.Version, Pending: p.Head.Pending, CrossedAt: p.Head.CrossedAt, Crossed: crossed}
				if a != want {
					t.Fatalf("commit %d: script returned %+v, Go %+v", i, a, want)
				}
				if crossed && rng.IntN(2) == 0 {
					// Acknowledged: AckScript clears it; so does Go.
					if n, err := AckScript.Run(ctx, rdb, []string{keys[ends[1]:ends[2]]}, p.Head.Pending).Int(); err != nil || n != 1 {
						t.Fatalf("ack: %d, %v", n, err)
					}
					p.Head.Pending = 0
				}
				hash := map[string]string{"h": p.Head.Pack()}
				if p.Disarmed {
					hash["dis"] = "1"
				}
				for f, v := range p.Fields {
					hash[f] = PackFloats(v)
				}
				if diff := cmp.Diff(hash, rdb.HGetAll(ctx, keys[ends[1]:ends[2]]).Val()); diff != "" {
					t.Fatalf("commit %d: partner hash (-Go, +script):\n%s", i, diff)
				}
				if got := rdb.Get(ctx, keys[:ends[0]]).Val(); got != stored {
					t.Fatalf("commit %d: contact %q, want %q", i, got, stored)
				}
				if diff := cmp.Diff(timeline, rdb.LRange(ctx, keys[ends[0]:ends[1]], 0, -1).Val()); diff != "" {
					t.Fatalf("commit %d: timeline (-want, +got):\n%s", i, diff)
				}
				if got := rdb.Get(ctx, keys[ends[2]:]).Val(); got != p.Contacts {
					t.Fatalf("commit %d: contacts list %q, want %q", i, got, p.Contacts)
				}
			}
			// A new contact's commit finds one written since its read.
			c := &Commit{Keys: keys, Ends: ends, Write: Write{Replace: true, Value: stored}, Partner: &PartnerCommit{}}
			if a := run(t, ctx, rdb, c); !a.Stale {
				t.Fatalf("a new contact's commit overwrote a stored one: %+v", a)
			}
		})
	}
}

func run(t *testing.T, ctx context.Context, rdb *redis.Client, c *Commit) Applied {
	t.Helper()
	cmds, err := scriptrun.Pipelined(ctx, rdb, []scriptrun.Call{{Script: ApplyScript, Cmd: c.Cmd()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := cmds[0].Err(); err != nil {
		t.Fatal(err)
	}
	a, err := ParseApplied(cmds[0].Val())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestRearmScript: the re-arm commits only against the "h" read.
func TestRearmScript(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t)
	ctx := context.Background()
	key := "lt:{p:p}:s:p"
	h := PartnerHead{N: 3, Version: 7, Threshold: 30}.Pack()
	if err := rdb.HSet(ctx, key, "h", h, "dis", "1").Err(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		read string
		want int
	}{
		{PartnerHead{N: 3, Version: 6, Threshold: 30}.Pack(), 0}, // an older read
		{h, 1},
		{h, 0}, // already armed
	}
	for i, tt := range tests {
		if n, err := RearmScript.Run(ctx, rdb, []string{key}, tt.read).Int(); err != nil || n != tt.want {
			t.Errorf("call %d: %d, %v; want %d", i, n, err, tt.want)
		}
	}
}
