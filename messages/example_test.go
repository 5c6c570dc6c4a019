package messages_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/flinkferry/flinkferry/messages"
)

// A producer builds a request, encodes it and sends key, headers and value
// to the Submit topic with any Kafka client.
func ExampleEncode() {
	req := &messages.SubmitRequested{
		RequestID: "wordcount-1",
		Job:       messages.JobRef{Namespace: "flink-jobs", ClusterID: "wordcount"},
		Mode:      messages.ModeApplication,
		Flink:     messages.FlinkOptions{Version: "1.20", Parallelism: 2},
		Program: &messages.Program{
			Jar:       messages.Jar{URL: "https://artifacts.example.com/wordcount.jar"},
			MainClass: "org.apache.flink.examples.java.wordcount.WordCount",
		},
	}
	key, headers, value, err := messages.Encode(req, messages.Envelope{
		ID:     "wordcount-1",
		Source: "https://ci.example.com/pipelines/42",
		Time:   time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(key)
	fmt.Println(headers[messages.HeaderType], headers[messages.HeaderTime])
	fmt.Println(string(value))
	fmt.Println(messages.DefaultTopics("flinkferry.").For(req.EventType()))
	// Output:
	// /flink-jobs/wordcount
	// io.flinkferry.submit.requested.v1 2025-06-01T10:00:00Z
	// {"request_id":"wordcount-1","job":{"namespace":"flink-jobs","cluster_id":"wordcount"},"mode":"application","flink":{"version":"1.20","parallelism":2},"program":{"jar":{"url":"https://artifacts.example.com/wordcount.jar"},"main_class":"org.apache.flink.examples.java.wordcount.WordCount"}}
	// [flinkferry.submit]
}

// A record sent without headers takes the topic's default type; a typo in
// a field name is reported with its path.
func ExampleDecodeMessage() {
	topics := messages.DefaultTopics("flinkferry.")
	value := []byte(`{"request_id":"r1","job":{"namespace":"flink-jobs","clusterId":"wordcount"},"mode":"application"}`)

	_, _, err := messages.DecodeMessage(nil, topics.DefaultType("flinkferry.submit"), value)
	fmt.Println(messages.ReasonOf(err))
	var fe messages.FieldErrors
	if errors.As(err, &fe) {
		fmt.Println(fe)
	}
	// Output:
	// unknown_field
	// job.clusterId: unknown field
}
