package jobstore

import (
	"testing"

	"github.com/flinkferry/flinkferry/internal/testenv"
)

// onCluster is the Redis Cluster client(t) returns while TestOnCluster
// runs (the package's tests do not run in parallel).
var onCluster *testenv.RedisClusterGroup

// TestOnCluster runs the store's tests again on a real Redis Cluster of
// three masters: every script and transaction must touch one hash slot
// (Redis refuses CROSSSLOT), and readers fan out over the shards.
func TestOnCluster(t *testing.T) {
	onCluster = testenv.RedisCluster(t)
	defer func() { onCluster = nil }()
	for _, tt := range []struct {
		name string
		test func(*testing.T)
	}{
		{"ApplyWritesObservations", TestApplyWritesObservations},
		{"ApplyCompareAndSet", TestApplyCompareAndSet},
		{"ApplyCompareAndSetConcurrently", TestApplyCompareAndSetConcurrently},
		{"ApplySameStateRecordsNoTransition", TestApplySameStateRecordsNoTransition},
		{"TransitionsAreRecordedAndCapped", TestTransitionsAreRecordedAndCapped},
		{"StateIndexesFollowTransitions", TestStateIndexesFollowTransitions},
		{"ApplyReloadsScriptsAfterScriptFlush", TestApplyReloadsScriptsAfterScriptFlush},
		{"OpenTakesTheRecordedShards", TestOpenTakesTheRecordedShards},
		{"ListFilters", TestListFilters},
		{"Count", TestCount},
		{"RecordOp", TestRecordOp},
		{"RecordOpReplacesEveryField", TestRecordOpReplacesEveryField},
		{"UpdateOpCompareAndSet", TestUpdateOpCompareAndSet},
		{"UpdateOpRetriedAfterLostReply", TestUpdateOpRetriedAfterLostReply},
		{"OpOutlivesObservationsAndNewRuns", TestOpOutlivesObservationsAndNewRuns},
		{"RecordOpRemembersRecentOps", TestRecordOpRemembersRecentOps},
		{"OutboxAndAck", TestOutboxAndAck},
		{"FlushThenRegisterRecovers", TestFlushThenRegisterRecovers},
		{"Outboxes", TestOutboxes},
		{"RegisterRecoveredAnnouncesTheFirstRealStateOnly", TestRegisterRecoveredAnnouncesTheFirstRealStateOnly},
		{"RegisterRecoveredThenDeployed", TestRegisterRecoveredThenDeployed},
		{"RegisterIsIdempotent", TestRegisterIsIdempotent},
		{"RegisterResubmission", TestRegisterResubmission},
		{"RegisterTieConverges", TestRegisterTieConverges},
		{"ChangingShardsStartsAfresh", TestChangingShardsStartsAfresh},
		{"GetAndGetMany", TestGetAndGetMany},
		{"PrefixesSeparateInstallations", TestPrefixesSeparateInstallations},
		{"RunKeepsTheRedeployInputs", TestRunKeepsTheRedeployInputs},
		{"DuplicateAddsMissingInputs", TestDuplicateAddsMissingInputs},
		{"AddSavepointIsIdempotent", TestAddSavepointIsIdempotent},
		{"TrimSavepoints", TestTrimSavepoints},
		{"HistoryRemovedWithTheJob", TestHistoryRemovedWithTheJob},
		{"RemoveSavepoint", TestRemoveSavepoint},
		{"NoSecretsInRedis", TestNoSecretsInRedis},
		{"SweepRemovesExpiredTerminalJobs", TestSweepRemovesExpiredTerminalJobs},
		{"SweepManyJobs", TestSweepManyJobs},
		{"Forget", TestForget},
	} {
		t.Run(tt.name, tt.test)
	}
}
