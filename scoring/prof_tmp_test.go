package scoring

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

func mainCPU(t *testing.T, rdb *redis.Client) float64 {
	info := rdb.Info(t.Context(), "cpu").Val()
	var s float64
	for _, l := range strings.Split(info, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.HasSuffix(k, "_main_thread") {
			f, _ := strconv.ParseFloat(v, 64)
			s += f
		}
	}
	return s
}

func evalshaUsec(t *testing.T, rdb *redis.Client) float64 {
	info := rdb.Info(t.Context(), "commandstats").Val()
	for _, l := range strings.Split(info, "\r\n") {
		if strings.HasPrefix(l, "cmdstat_evalsha") {
			i := strings.Index(l, "usec_per_call=")
			v := l[i+len("usec_per_call="):]
			v = v[:strings.IndexByte(v, ',')]
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

func TestProfTmp(t *testing.T) {
	if os.Getenv("PROF") == "" {
		t.Skip()
	}
	b := setup(t, Config{})
	ctx := b.ctx
	n, _ := strconv.Atoi(os.Getenv("PROFN"))
	if n == 0 {
		n = 4000
	}
	type c struct {
		keys []string
		args []any
	}
	var calls []c
	for i := range n {
		cid := "c" + strconv.Itoa(i)
		tg := Target{PartnerID: "p" + strconv.Itoa(i%2000), ContactID: cid}
		ac, err := b.eng.applyArgs(tg, contactEvents(cid, t0), t0)
		args := ac.args
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, c{applyKeys(tg), args})
	}
	names := []string{"trivial", "trivial1arg", "tiny40", "big1", "current"}
	scripts := []*redis.Script{redis.NewScript("return 1"), redis.NewScript("return 2"), redis.NewScript("return 3"), redis.NewScript("return 4"), applyScript}
	tiny := make([]any, 40)
	for i := range tiny {
		tiny[i] = "x"
	}
	big := strings.Repeat("abcdefghij", 300)
	for _, f := range strings.Split(os.Getenv("PROFSRC"), ",") {
		if f == "" {
			continue
		}
		bs, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, f)
		scripts = append(scripts, redis.NewScript(string(bs)))
	}
	if os.Getenv("GCSTOP") != "" {
		t.Log(b.rdb.Eval(ctx, "collectgarbage('"+os.Getenv("GCSTOP")+"', 1000) return collectgarbage('count')", nil).Val())
	}
	cpu := make([][]float64, len(scripts))
	wall := make([][]float64, len(scripts))
	for round := 0; round < 9; round++ {
		for vi, s := range scripts {
			if err := s.Load(ctx, b.rdb).Err(); err != nil {
				t.Fatal(err)
			}
			b.rdb.FlushDB(ctx)
			b.rdb.ConfigResetStat(ctx)
			c0 := mainCPU(t, b.rdb)
			for st := 0; st < n; st += 40 {
				p := b.rdb.Pipeline()
				for _, cl := range calls[st : st+40] {
					if vi == 2 {
						s.EvalSha(ctx, p, cl.keys, tiny...)
					} else if vi == 3 {
						s.EvalSha(ctx, p, cl.keys, big)
					} else if vi == 1 {
						s.EvalSha(ctx, p, cl.keys, cl.args[0])
					} else {
						s.EvalSha(ctx, p, cl.keys, cl.args...)
					}
				}
				if _, err := p.Exec(ctx); err != nil {
					t.Fatalf("%s: %v", names[vi], err)
				}
			}
			c1 := mainCPU(t, b.rdb)
			cpu[vi] = append(cpu[vi], (c1-c0)*1e6/float64(n))
			wall[vi] = append(wall[vi], evalshaUsec(t, b.rdb))
		}
	}
	for vi := range scripts {
		sort.Float64s(cpu[vi])
		sort.Float64s(wall[vi])
		t.Logf("%-40s cpu/call med %.1f min %.1f   evalsha usec med %.1f min %.1f", names[vi], cpu[vi][4], cpu[vi][0], wall[vi][4], wall[vi][0])
	}
	_ = fmt.Sprint
}
