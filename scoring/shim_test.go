package scoring

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/longtailhq/longtail/event"
	"github.com/redis/go-redis/v9"
)

// The struct shim only runs where the server has no struct library: the
// embedded in-process Redis. This is a test of that embedded mode, so it
// runs on miniredis on purpose.
func TestStructShimOnEmbeddedRedis(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	ctx := context.Background()

	// unpack: Go bytes in, the Lua number back as exact text.
	unpackScript := redis.NewScript(structShim + `
local x, nextpos = struct.unpack('<d', ARGV[1])
return {string.format('%.17g', x), nextpos}`)
	// pack: exact text in, bytes back.
	packScript := redis.NewScript(structShim + `return struct.pack('<d', tonumber(ARGV[1]))`)

	values := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-310, -5e-324, math.SmallestNonzeroFloat64,
		math.MaxFloat64, -math.MaxFloat64, 2.5e15, 1 << 52, 123456.789e200, math.Inf(1), math.Inf(-1)}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		values = append(values, math.Float64frombits(rng.Uint64()))
	}
	for _, v := range values {
		if math.IsNaN(v) {
			continue
		}
		b := make([]byte, 8)
		binary.LittleEndian.PutUint64(b, math.Float64bits(v))
		res, err := unpackScript.Run(ctx, rdb, nil, string(b)).Slice()
		if err != nil {
			t.Fatalf("unpack %g: %v", v, err)
		}
		got, err := strconv.ParseFloat(res[0].(string), 64)
		if math.IsInf(v, 0) {
			if got != v && res[0] != strconv.FormatFloat(v, 'g', 17, 64) {
				t.Errorf("unpack %g = %v", v, res[0])
			}
		} else if err != nil || math.Float64bits(got) != math.Float64bits(v) && !(v == 0 && got == 0) {
			t.Errorf("unpack %g (%x) = %v", v, b, res[0])
		}
		if res[1].(int64) != 9 {
			t.Errorf("unpack next position = %v, want 9", res[1])
		}
		if math.IsInf(v, 0) || (v == 0 && math.Signbit(v)) {
			continue // no exact decimal text to send for these
		}
		packed, err := packScript.Run(ctx, rdb, nil, strconv.FormatFloat(v, 'g', 17, 64)).Text()
		if err != nil {
			t.Fatalf("pack %g: %v", v, err)
		}
		if packed != string(b) {
			t.Errorf("pack %g = %x, want %x", v, packed, b)
		}
	}

	ints := redis.NewScript(structShim + `
local a, b, c, d, nextpos = struct.unpack('<BHI4d', ARGV[1], 2)
return {a, b, c, struct.pack('<BHI4d', a, b, c, d), nextpos}`)
	buf := []byte{0xff, 200}
	buf = binary.LittleEndian.AppendUint16(buf, 65000)
	buf = binary.LittleEndian.AppendUint32(buf, 4000000000)
	buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(-2.75))
	res, err := ints.Run(ctx, rdb, nil, string(buf)).Slice()
	if err != nil {
		t.Fatal(err)
	}
	if res[0].(int64) != 200 || res[1].(int64) != 65000 || res[2].(int64) != 4000000000 || res[3].(string) != string(buf[1:]) || res[4].(int64) != int64(len(buf)+1) {
		t.Errorf("integer formats: %v", res)
	}
}

// TestEngineOnEmbeddedRedis runs the engine on the embedded Redis (what
// `longtail serve` uses without redis.url) beside one on redis-server:
// new and returning contacts, duplicates sent again, compactions over 20
// days. Scores, explanations and timelines must agree, to the bit.
func TestEngineOnEmbeddedRedis(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	mini := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer mini.Close()
	server := setup(t, Config{})
	var now time.Time
	clock := func() time.Time { return now }
	embedded, err := NewEngine(mini, Config{}, clock)
	if err != nil {
		t.Fatal(err)
	}
	reference, err := NewEngine(server.rdb, Config{}, clock)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for d := range 20 {
		now = t0.Add(time.Duration(d) * Day)
		var batches []Batch
		for c := range 3 {
			tg := Target{PartnerID: "p", ContactID: fmt.Sprint("c", c)}
			batches = append(batches, Batch{tg, fillContactEvents(make([]event.Event, 5), fmt.Sprintf("c%d.%d", c, d), now)})
		}
		for _, eng := range []*Engine{embedded, reference} {
			if _, err := eng.ApplyBatch(ctx, batches); err != nil {
				t.Fatalf("day %d: %v", d, err)
			}
			if r, err := eng.Apply(ctx, batches[0].Target, batches[0].Events); err != nil || !r.Events[0].Duplicate {
				t.Fatalf("day %d: sent again: %+v, %v", d, r, err)
			}
		}
	}
	for _, cid := range []string{"c0", "c1", "c2"} {
		got, err := embedded.Contact(ctx, "p", cid)
		if err != nil {
			t.Fatal(err)
		}
		want, err := reference.Contact(ctx, "p", cid)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("contact %s (-redis-server, +embedded):\n%s", cid, diff)
		}
	}
	got, err := embedded.Explain(ctx, "p", nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := reference.Explain(ctx, "p", nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("explain (-redis-server, +embedded):\n%s", diff)
	}
	if gen := binNum(mini.Get(ctx, contactScoreKey("p", "c0")).Val(), contactGeneration); gen == 0 {
		t.Error("no compaction ran on the embedded Redis")
	}
}
