# trace language, replay, binary form, importers
libvtdsim_internal_la_SOURCES += src/trace/trace_reader.c src/trace/trace_binary.c \
	src/trace/replay.c
noinst_HEADERS += src/trace/trace.h src/trace/trace_internal.h src/trace/replay.h
vtdsim_SOURCES += src/cli/cmd_replay.c
noinst_HEADERS += src/cli/commands.h
