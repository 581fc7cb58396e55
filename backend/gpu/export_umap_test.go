package gpu

// SplitUMAPEpochs makes the backend's UMAP run each epoch in the launches
// of the split window (umapSplitWindow) instead of its default.
func (be *Backend) SplitUMAPEpochs() { be.umapWindow = umapSplitWindow }
