package jobstore

import (
	"context"
	_ "embed"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed lua/common.lua
	commonLua string
	//go:embed lua/register.lua
	registerLua string
	//go:embed lua/apply.lua
	applyLua string
	//go:embed lua/delete.lua
	deleteLua string
	//go:embed lua/opcommon.lua
	opCommonLua string
	//go:embed lua/record_op.lua
	recordOpLua string
	//go:embed lua/update_op.lua
	updateOpLua string
	//go:embed lua/add_savepoint.lua
	addSavepointLua string
	//go:embed lua/trim_savepoints.lua
	trimSavepointsLua string
	//go:embed lua/remove_savepoint.lua
	removeSavepointLua string
)

var (
	registerScript = redis.NewScript(commonLua + registerLua)
	applyScript    = redis.NewScript(commonLua + applyLua)
	deleteScript   = redis.NewScript(deleteLua)

	recordOpScript        = redis.NewScript(commonLua + opCommonLua + recordOpLua)
	updateOpScript        = redis.NewScript(commonLua + opCommonLua + updateOpLua)
	addSavepointScript    = redis.NewScript(addSavepointLua)
	trimSavepointsScript  = redis.NewScript(trimSavepointsLua)
	removeSavepointScript = redis.NewScript(removeSavepointLua)
)

// call is one script invocation of a batch.
type call struct {
	keys []string
	args []any
}

// evalMany runs script once per call in one pipeline (EVALSHA), and again,
// after SCRIPT LOAD, for the calls Redis answered NOSCRIPT (a restarted or
// flushed script cache): Redis refuses those before running anything, so
// no call runs twice. The results are in the order of calls; the error is
// the first failure (connection or script error), with every result
// returned so far.
func evalMany(ctx context.Context, rdb redis.UniversalClient, script *redis.Script, calls []call) ([]*redis.Cmd, error) {
	cmds := make([]*redis.Cmd, len(calls))
	todo := make([]int, len(calls))
	for i := range todo {
		todo[i] = i
	}
	for attempt := 0; ; attempt++ {
		pipe := rdb.Pipeline()
		for _, i := range todo {
			cmds[i] = script.EvalSha(ctx, pipe, calls[i].keys, calls[i].args...)
		}
		_, _ = pipe.Exec(ctx) // errors are read per command
		var again []int
		var errs []error
		for _, i := range todo {
			err := cmds[i].Err()
			switch {
			case err == nil:
			case redis.HasErrorPrefix(err, "NOSCRIPT"):
				again = append(again, i)
			default:
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			return cmds, fmt.Errorf("running script (%d of %d calls failed): %w", len(errs), len(calls), errs[0])
		}
		if len(again) == 0 {
			return cmds, nil
		}
		if attempt > 0 {
			return cmds, errors.New("running script: NOSCRIPT after SCRIPT LOAD")
		}
		if err := script.Load(ctx, rdb).Err(); err != nil {
			return cmds, fmt.Errorf("loading script: %w", err)
		}
		todo = again
	}
}

// evalOne runs script once, loading it if Redis does not have it.
func evalOne(ctx context.Context, rdb redis.UniversalClient, script *redis.Script, c call) (*redis.Cmd, error) {
	cmds, err := evalMany(ctx, rdb, script, []call{c})
	return cmds[0], err
}
