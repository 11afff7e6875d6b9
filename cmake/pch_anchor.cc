// Anchors the precompiled LibTorch header (cmake/SpikecastTargets.cmake).
