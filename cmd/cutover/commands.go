package main

import "github.com/spf13/cobra"

// command is one subcommand: what its help says, the flags it takes (by
// name in flagDefs), how its arguments complete, and its body, which
// returns the exit code.
type command struct {
	name, args, short, long, example string
	flags                            []string
	// usage replaces a shared flag's help where it means something else
	// for this command (plan's --dry-run never runs anything).
	usage map[string]string
	run   func(c *cli, args []string) int
	// complete completes positional arguments (nil: files).
	complete func(c *cli, o *options, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective)
}

// commands in the order `cutover --help` lists them: the life of a release.
var commands = []command{
	{
		name: "init", args: "[DIR]",
		short: "write a starting pipeline from a ready one (--list shows them)",
		long: "Writes the files of a ready pipeline (pipelines/ in the repository, embedded in the binary)\n" +
			"into DIR (default: the current directory). Existing files are left alone unless --force, which\n" +
			"overwrites them, first copying each one you edited to FILE.orig (named in the output); over\n" +
			"another ready pipeline, --force also removes the files an earlier init wrote that this one does\n" +
			"not have, if they are unchanged (edited ones are named and kept; other files are never touched).",
		example: "  cutover init --list\n  cutover init --template canary-replicas deploy/\n  cutover validate deploy/",
		flags:   []string{"template", "list", "force-init", "output"},
		run:     cmdInit,
	},
	{
		name: "validate", args: "[PATH]",
		short: "report every problem in a pipeline; exit 2 when invalid",
		long: "Checks the pipeline at PATH (a directory of .hcl files, or one file; default: the current\n" +
			"directory) without running anything: syntax, references, types, variables and each step's\n" +
			"settings, every problem at once with file:line:col. Required variables without a value are\n" +
			"checked as unknown, as terraform validate does. -o json: the diagnostics, one event per line,\n" +
			"then the verdict, valid or not: {\"valid\": …, \"errors\": N, \"warnings\": N, …} (plan -o json\n" +
			"of an invalid pipeline ends with it too).",
		example: "  cutover validate pipelines/blue-green-service\n  cutover validate . -var version=v2 -o json",
		flags:   flagsOf(varFlags, []string{"output"}),
		run:     cmdValidate,
	},
	{
		name: "plan", args: "[PATH]",
		short: "show what a run would do, stage by stage",
		long: "Shows the stages in the order they would run with their settings evaluated; values only a stage\n" +
			"can produce are shown as (known after STAGE). --dry-run=server asks the cluster and shows the\n" +
			"diff of every object a stage would write, each stage starting from what the stages before it\n" +
			"leave (a pipeline with targets: each target's share in its own cluster, under the target;\n" +
			"--target NAME: that one only); when the cluster refuses a stage's request, the plan is printed whole and exits 1,\n" +
			"naming the refused stages. --show-manifests prints the YAML each deploy would apply, rendered,\n" +
			"with secrets hidden.",
		example: "  cutover plan pipelines/blue-green-service -var version=v2\n  cutover plan . -var version=v2 --dry-run=server\n  cutover plan . -var version=v2 --show-manifests",
		flags:   flagsOf(varFlags, clusterFlags, []string{"output", "dry-run", "show-manifests", "target"}),
		usage: map[string]string{
			"dry-run": "`server|none`: server (alone: --dry-run) asks the cluster to dry-run every write and shows the diff of each object; none (the default) plans without a cluster. plan never writes",
		},
		run: cmdPlan,
	},
	{
		name: "run", args: "[PATH]",
		short: "run a pipeline",
		long: "Runs the pipeline's stages as a DAG against the cluster, journaling what each write replaces;\n" +
			"a failed stage undoes what the run changed, newest first. --resume RUN finishes a run whose\n" +
			"job died. One run per pipeline at a time: the pipeline's lock is a Lease.",
		example: "  cutover run pipelines/blue-green-service -var version=v2\n" +
			"  cutover run . -var-file prod.hcl --junit report.xml --wait-lock=5m\n" +
			"  cutover run . --resume RUN",
		flags: flagsOf(varFlags, reportFlags, clusterFlags,
			[]string{"dry-run", "grace", "wait-lock", "state", "history-max", "resume", "no-journal", "target", "run-id"}),
		run: cmdRun,
	},
	{
		name: "matrix", args: "[PATH]",
		short: "print a pipeline's targets as a CI matrix (GitHub strategy.matrix, GitLab parallel:matrix)",
		long: "For a pipeline with target blocks: the targets of --wave (needed when there are several waves) as\n" +
			"a GitHub Actions strategy JSON document ({\"matrix\": {\"target\": [...]}, \"max-parallel\": N}, N the\n" +
			"wave's parallelism) or a GitLab parallel:matrix YAML fragment (TARGET). Each matrix job runs\n" +
			"`cutover run --target NAME --run-id RUN`; `cutover join RUN` gates the next wave (docs/ci.md).",
		example: "  cutover matrix pipelines/fleet-blue-green --wave canary\n" +
			"  cutover matrix . --wave rest --ci gitlab",
		flags: flagsOf(varFlags, []string{"wave", "ci"}),
		run:   cmdMatrix,
	},
	{
		name: "join", args: "RUN PATH",
		short: "gate the next wave: exit 0 when every target of the waves so far succeeded (within max_failures)",
		long: "Reads the journal of run RUN on every target of the waves up to --wave (default: all), each in\n" +
			"its own cluster, and exits 0 when each wave's failed targets are within its max_failures, 1\n" +
			"otherwise, naming them (a target whose job never ran has no journal and counts as failed); 6\n" +
			"when a target's share is still running, or its job died while running (not finished, named).\n" +
			"On success it prints the pipeline's outputs, evaluated from the targets' stages as a run of\n" +
			"every target prints them at its end (sensitive values masked); -o json: one JSON document. On\n" +
			"GitHub Actions they are also the step output outputs ($GITHUB_OUTPUT), as a run writes them.",
		example: "  cutover join $RUN pipelines/fleet-blue-green --wave canary\n  cutover join $RUN pipelines/fleet-blue-green -o json",
		flags:   flagsOf(varFlags, clusterFlags, []string{"wave", "state", "output"}),
		run:     cmdJoin,
	},
	{
		name: "graph", args: "[PATH]",
		short: "print the stage graph (--format dot|mermaid)",
		example: "  cutover graph pipelines/canary-replicas --format mermaid\n" +
			"  cutover graph . | dot -Tsvg > graph.svg",
		flags: flagsOf(varFlags, []string{"format", "output"}),
		run:   cmdGraph,
	},
	{
		name: "fmt", args: "[PATH...]",
		short: "format .hcl files in place, subdirectories too (--check: change nothing, exit 5)",
		long: "Formats the .hcl files named, and those of the directories named (default: the current one;\n" +
			"their subdirectories too unless --recursive=false), as terraform fmt does:\n\n" +
			"  cutover fmt                 rewrites each file not formatted and prints its name\n" +
			"  cutover fmt --diff          rewrites each file not formatted and prints its change as a diff\n" +
			"  cutover fmt --check         changes nothing: prints each name, exits 5 if there are any\n" +
			"  cutover fmt --check --diff  changes nothing: prints each change as a diff, exits 5 if any\n\n" +
			"A file that does not parse is left as it is and reported (exit 2).",
		example: "  cutover fmt\n  cutover fmt --check --diff pipelines/",
		flags:   []string{"check", "diff", "recursive"},
		run:     cmdFmt,
	},
	{
		name: "lint", args: "MANIFEST|DIR|-...",
		short: "zero-downtime findings on Kubernetes manifests",
		long: "Reports what would make a release drop requests: missing readiness probes, no preStop,\n" +
			"a grace period shorter than the drain, surge settings that remove capacity. A directory's\n" +
			".yaml/.yml/.json files are linted together, - reads stdin. A Helm chart (a directory with a\n" +
			"Chart.yaml, or a .tgz) or a Kustomize overlay (a directory with a kustomization.yaml), named or\n" +
			"met in a directory, is rendered in process as deploy renders it and linted on its own, findings\n" +
			"at the template's line: a chart with its own values.yaml, released under the chart's name in\n" +
			"namespace default, hooks left out (other values: helm template … | cutover lint -). A pipeline's\n" +
			"templates (.tpl files with ${…}) are not manifests until it renders them: its lint stage lints\n" +
			"what they render, and cutover plan --show-manifests shows it.",
		example: "  cutover lint k8s/deployment.yaml\n  cutover lint k8s/ -o json\n  cutover lint charts/web overlays/prod\n" +
			"  helm template chart/ -f prod.yaml | cutover lint -",
		flags: []string{"output", "recursive-lint"},
		run:   cmdLint,
	},
	{
		name: "status", args: "[RUN [PATH]]",
		short:    "show runs in progress and the last run of each pipeline; with RUN, its stages",
		long:     "RUN is looked for in --namespace; else in the kubeconfig's namespace (with PATH, the pipeline's\nfirst), then in every namespace the credentials may list. With the PATH of a pipeline with\ntarget blocks, shows the run on every target, each from the journal in the target's own cluster.",
		example:  "  cutover status\n  cutover status RUN -n shop\n  cutover status RUN pipelines/fleet-blue-green",
		flags:    flagsOf(clusterFlags, varFlags, []string{"output"}),
		run:      cmdStatus,
		complete: completeRunArg(1, nil),
	},
	{
		name: "history", args: "[PATH]",
		short: "list past runs",
		long: "Lists the runs journaled in --namespace, else the kubeconfig's namespace, newest first. With\n" +
			"PATH, the runs of that pipeline, looked for as status RUN PATH looks: in --namespace, else the\n" +
			"pipeline's namespace, else the kubeconfig's; for a pipeline with target blocks, in each target's\n" +
			"cluster and namespace, target by target.",
		example: "  cutover history -n shop\n  cutover history pipelines/blue-green-service\n  cutover history pipelines/fleet-blue-green -o json",
		flags:   flagsOf(clusterFlags, varFlags, []string{"output"}),
		run:     cmdHistory,
	},
	{
		name: "undo", args: "RUN [PATH]",
		short: "undo a run from its journal",
		long: "Undoes what run RUN changed, from its journal in the cluster, newest first: for a run whose job\n" +
			"died, or to take back a release. PATH is the run's pipeline (default: the current directory);\n" +
			"the run's variables come from the journal, sensitive ones must be given again. The journal is\n" +
			"looked for in --namespace; else in the pipeline's and the kubeconfig's namespaces, then in every\n" +
			"namespace the credentials may list; the undo acts where the run did.",
		example: "  cutover undo RUN pipelines/blue-green-service\n  cutover undo RUN . --force",
		flags:   flagsOf(varFlags, reportFlags, clusterFlags, []string{"force", "wait-lock", "state", "target"}),
		run:     cmdUndo, complete: completeRunArg(2, undoable),
	},
	{
		name: "approve", args: "RUN [STAGE] [PATH]",
		short: "answer a pause stage of a run: go on",
		long: "Answers the question of run RUN's pause stage STAGE (or the only one waiting). For a run of a\n" +
			"pipeline with targets (PATH, default: the current directory), --target NAME answers in that\n" +
			"target's cluster; without it, the only target with a question waiting, else exit 2 naming them.",
		example: "  cutover approve RUN\n  cutover approve RUN promote -n shop\n  cutover approve RUN promote --target eu pipelines/fleet-blue-green",
		flags:   flagsOf(varFlags, clusterFlags, []string{"output", "target"}),
		run:     cmdApprove, complete: completePauseArgs,
	},
	{
		name: "abort", args: "RUN [STAGE] [PATH]",
		short:   "answer a pause stage of a run: stop and undo",
		long:    "As approve, the other answer: the stage fails and the run is undone (a run with targets: --target NAME).",
		example: "  cutover abort RUN\n  cutover abort RUN promote --target eu pipelines/fleet-blue-green",
		flags:   flagsOf(varFlags, clusterFlags, []string{"output", "target"}),
		run:     cmdAbort, complete: completePauseArgs,
	},
	{
		name: "rbac", args: "[PATH]",
		short: "print the Role a pipeline's runs need (namespaced, least privilege)",
		example: "  cutover rbac pipelines/blue-green-service -n shop | kubectl apply -f -\n" +
			"  cutover rbac . --state none --name deployer",
		flags: flagsOf(varFlags, clusterFlags, []string{"rbac-state", "role-name"}),
		run:   cmdRBAC,
	},
	{
		name: "schema", args: "",
		short:   "print the JSON schema of the pipeline language (for editors and tools)",
		example: "  cutover schema > cutover.schema.json",
		run:     cmdSchema,
	},
	{
		name: "version", args: "",
		short:   "print the version, its commit and build time",
		example: "  cutover version\n  cutover version -o json",
		flags:   []string{"output"},
		run:     cmdVersion,
	},
}
