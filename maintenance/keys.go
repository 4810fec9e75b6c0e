package maintenance

// Every Redis key of the maintenance jobs is built here.
//
//	lt:{maint}:cursor  hash  job name → the cursor of the job's walk over
//	                         the directory's partners (an SSCAN cursor of
//	                         lt:partners): where a run that stopped part
//	                         way (a crash, a deploy) resumes; absent once a
//	                         walk completes, so the next run starts over
//
// One key in a slot of its own, written with single-key commands only.

const cursorKey = "lt:{maint}:cursor"
