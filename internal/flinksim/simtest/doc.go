// Package simtest starts the Flink REST simulator for tests the way the
// workers meet JobManagers in a cluster: each at its cluster DNS name
// (http://<id>-rest.<namespace>:8081), through one loopback server.
package simtest
