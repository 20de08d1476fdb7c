// Test plugin that forgot PAGODA_PLUGIN: it exports nothing Pagoda looks for.
extern "C" __attribute__((visibility("default"))) int unrelated_function() { return 3; }
