package store

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/alicebob/miniredis/v2"
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
