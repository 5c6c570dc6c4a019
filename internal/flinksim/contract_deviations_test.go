package flinksim_test

import (
	"fmt"
	"strings"
)

// deviation is one place where real Flink 1.19 (and so the simulator)
// answers differently from Flink's own generated OpenAPI spec. Each one
// patches the spec before it becomes JSON Schema; TestContractDeviations
// proves every entry is still needed, so the table cannot hide drift.
type deviation struct {
	name  string
	why   string
	apply func(spec map[string]any) error
}

var deviations = []deviation{{
	name: "checkpoint-@class",
	why: `Checkpoint entries (history[], latest.completed/failed/savepoint) carry Jackson's type id "@class" ` +
		`(@JsonTypeInfo property "@class" on CheckpointStatistics); the generated spec calls it "className".`,
	apply: func(spec map[string]any) error {
		s, err := schema(spec, "CheckpointStatistics")
		if err != nil {
			return err
		}
		d := obj(s, "discriminator")
		props := obj(s, "properties")
		if d == nil || d["propertyName"] != "className" || props["className"] == nil {
			return fmt.Errorf("CheckpointStatistics is no longer discriminated by className")
		}
		d["propertyName"] = "@class"
		props["@class"] = props["className"]
		delete(props, "className")
		s["required"] = []any{"@class"}
		return nil
	},
}, {
	name: "checkpoint-savepointFormat-null",
	why:  `savepointFormat is null for checkpoints (Flink sets it only for savepoints).`,
	apply: func(spec map[string]any) error {
		return nullable(spec, "CheckpointStatistics", "savepointFormat")
	},
}, {
	name: "latest-checkpoints-null",
	why:  `latest.completed, latest.savepoint, latest.failed and latest.restored are null until such a checkpoint exists.`,
	apply: func(spec map[string]any) error {
		return nullable(spec, "LatestCheckpoints", "completed", "savepoint", "failed", "restored")
	},
}, {
	name: "stats-summary-NaN",
	why: `StatsSummaryDto percentiles are Java doubles that are NaN while no checkpoint completed; ` +
		`Jackson writes NaN as the string "NaN".`,
	apply: func(spec map[string]any) error {
		s, err := schema(spec, "StatsSummaryDto")
		if err != nil {
			return err
		}
		for _, p := range []string{"p50", "p90", "p95", "p99", "p999"} {
			if obj(obj(s, "properties"), p) == nil {
				return fmt.Errorf("StatsSummaryDto has no %s", p)
			}
			obj(s, "properties")[p] = map[string]any{"oneOf": []any{
				map[string]any{"type": "number", "format": "double"},
				map[string]any{"type": "string", "enum": []any{"NaN"}},
			}}
		}
		return nil
	},
}, {
	name: "async-operation-null",
	why:  `AsynchronousOperationResult.operation is null while status.id is IN_PROGRESS.`,
	apply: func(spec map[string]any) error {
		return nullable(spec, "AsynchronousOperationResult", "operation")
	},
}, {
	name: "serialized-throwable-fields",
	why: `SerializedThrowableSerializer writes "class" and "stack-trace" besides "serialized-throwable"; ` +
		`the spec generator overrides the schema with serialized-throwable only.`,
	apply: func(spec map[string]any) error {
		s, err := schema(spec, "SerializedThrowable")
		if err != nil {
			return err
		}
		props := obj(s, "properties")
		if props == nil || props["class"] != nil {
			return fmt.Errorf("SerializedThrowable changed")
		}
		props["class"] = map[string]any{"type": "string"}
		props["stack-trace"] = map[string]any{"type": "string"}
		return nil
	},
}, {
	name: "exceptions-root-null",
	why:  `The deprecated root-exception and timestamp of /jobs/{jobid}/exceptions are null until the job failed once.`,
	apply: func(spec map[string]any) error {
		return nullable(spec, "JobExceptionsInfoWithHistory", "root-exception", "timestamp")
	},
}, {
	name: "taskmanager-id",
	why: `A TaskManager's ResourceID is its pod name on Kubernetes (<cluster-id>-taskmanager-1-1); the spec ` +
		`generator gives every ResourceID JobID's 32-hex pattern.`,
	apply: func(spec map[string]any) error {
		s, err := schema(spec, "TaskManagerInfo")
		if err != nil {
			return err
		}
		props := obj(s, "properties")
		if props == nil || props["id"] == nil {
			return fmt.Errorf("TaskManagerInfo has no id")
		}
		props["id"] = map[string]any{"type": "string"}
		return nil
	},
}, {
	name: "checkpoint-mode-lowercase",
	why:  `CheckpointConfigInfo's ProcessingModeSerializer writes the mode in lower case (exactly_once).`,
	apply: func(spec map[string]any) error {
		s, err := schema(spec, "CheckpointConfigInfo")
		if err != nil {
			return err
		}
		if obj(obj(s, "properties"), "mode") == nil {
			return fmt.Errorf("CheckpointConfigInfo has no mode")
		}
		obj(s, "properties")["mode"] = map[string]any{"type": "string", "enum": []any{"at_least_once", "exactly_once"}}
		return nil
	},
}, {
	name: "empty-response-body",
	why: `Responses the spec documents without content (DELETE /cluster 200, PATCH /jobs/{jobid} 202) carry ` +
		`Flink's EmptyResponseBody, {}.`,
	apply: func(spec map[string]any) error {
		componentSchemas(spec)["EmptyResponseBody"] = map[string]any{"type": "object", "maxProperties": 0}
		n := 0
		forEachOperation(spec, func(_, _ string, op map[string]any) {
			for _, r := range obj(op, "responses") {
				if r := r.(map[string]any); r["content"] == nil {
					r["content"] = jsonContent("EmptyResponseBody")
					n++
				}
			}
		})
		if n == 0 {
			return fmt.Errorf("no response without content left")
		}
		return nil
	},
}, {
	name: "error-response-body",
	why: `The spec documents no error responses; Flink answers every error (400, 404, 405, 409, 500, ...) with ` +
		`ErrorResponseBody {"errors":["..."]}. It becomes each operation's default (non-2xx) response.`,
	apply: func(spec map[string]any) error {
		componentSchemas(spec)["ErrorResponseBody"] = map[string]any{
			"type": "object", "required": []any{"errors"},
			"properties": map[string]any{"errors": map[string]any{"type": "array", "items": map[string]any{"type": "string"}}},
		}
		forEachOperation(spec, func(_, _ string, op map[string]any) {
			obj(op, "responses")["default"] = map[string]any{"content": jsonContent("ErrorResponseBody")}
		})
		return nil
	},
}}

func schema(spec map[string]any, name string) (map[string]any, error) {
	s := obj(componentSchemas(spec), name)
	if s == nil {
		return nil, fmt.Errorf("spec has no schema %s", name)
	}
	return s, nil
}

// nullable marks properties of a component schema nullable.
func nullable(spec map[string]any, name string, props ...string) error {
	s, err := schema(spec, name)
	if err != nil {
		return err
	}
	for _, p := range props {
		ps := obj(obj(s, "properties"), p)
		if ps == nil {
			return fmt.Errorf("%s has no property %s", name, p)
		}
		if ps["nullable"] == true {
			return fmt.Errorf("%s.%s is nullable in the spec now", name, p)
		}
		ps["nullable"] = true
	}
	return nil
}

func jsonContent(schemaName string) map[string]any {
	return map[string]any{"application/json": map[string]any{
		"schema": map[string]any{"$ref": "#/components/schemas/" + schemaName},
	}}
}

// forEachOperation calls fn for every method of every path of the spec.
func forEachOperation(spec map[string]any, fn func(path, method string, op map[string]any)) {
	for p, item := range obj(spec, "paths") {
		for m, op := range item.(map[string]any) {
			if op, ok := op.(map[string]any); ok {
				fn(p, strings.ToUpper(m), op)
			}
		}
	}
}
