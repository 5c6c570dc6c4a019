// Package hostile runs a committed corpus of hostile submit requests
// through the live pipeline (issue 13).
//
// testdata/corpus.jsonl holds one case per line: its name and class, the
// Kafka key and headers to produce it with, the raw record value (a JSON
// string, or base64 when the bytes are not valid UTF-8) and where it must
// land: the dead-letter topic with a machine-readable reason, or a build
// failed event on the status topic, naming the field at fault. The corpus
// is generated from the message contract's field rules (messages/schema,
// messages/*_validate.go, internal/admission) by gen_test.go and
// cases_test.go; regenerate it with
//
//	go test ./test/hostile -run TestCorpus -update
//
// and review the diff. TestCorpus fails when the committed file is not
// what the generator writes.
//
// TestHostileCorpus builds the binary, starts `flinkferry dev --no-demo` on
// free ports, produces the whole corpus to the submit topic with a valid
// request after every ten hostile ones, and checks that every hostile case
// is refused where and why the corpus says, that nothing was pushed to the
// registry for any of them, that every valid request reaches RUNNING, that
// no line dev logged exceeds the log line cap and that dev's memory stays
// flat. Jar URLs in the corpus name dev's default artifact server
// (http://127.0.0.1:8989); the test points them at the running dev's, as
// `flinkferry submit` does. The package has no code outside its tests.
package hostile
