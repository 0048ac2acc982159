// The frei0r entry points (frei0r.h 1.2, Debian's frei0r-plugins-dev). Each one only forwards
// to its Go counterpart in main.go; all the work, and all the state, is on the Go side.
#include <frei0r.h>
#include "_cgo_export.h"

int f0r_init(void) { return 1; }

// Instances are closed by f0r_destruct; ffmpeg calls f0r_init and f0r_deinit once per filter
// of a graph, so there is nothing process-wide to undo here.
void f0r_deinit(void) {}

void f0r_get_plugin_info(f0r_plugin_info_t *info) { mpPluginInfo(info); }

void f0r_get_param_info(f0r_param_info_t *info, int param_index) { mpParamInfo(info, param_index); }

f0r_instance_t f0r_construct(unsigned int width, unsigned int height) { return mpConstruct(width, height); }

void f0r_destruct(f0r_instance_t instance) { mpDestruct(instance); }

void f0r_set_param_value(f0r_instance_t instance, f0r_param_t param, int param_index) {
	mpSetParam(instance, param, param_index);
}

void f0r_get_param_value(f0r_instance_t instance, f0r_param_t param, int param_index) {
	mpGetParam(instance, param, param_index);
}

void f0r_update(f0r_instance_t instance, double time, const uint32_t *inframe, uint32_t *outframe) {
	mpUpdate(instance, (void *)inframe, outframe);
}

// Optional for filters; if present it must behave as f0r_update on the first input.
void f0r_update2(f0r_instance_t instance, double time, const uint32_t *inframe1,
		 const uint32_t *inframe2, const uint32_t *inframe3, uint32_t *outframe) {
	mpUpdate(instance, (void *)inframe1, outframe);
}
