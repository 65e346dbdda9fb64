/**
 * One viewport or two side by side, which one is active (the toolbar, the keys and the series
 * panel act on it), and what each shows: a series chosen in the panel, or a prior opened beside.
 */
import { useState } from 'react';
import type { ViewerSeries } from './dicom-json';
import { type Loaded, matchingSeries, type Pane, type Panes, paneSeries } from './use-study';

export function usePaneLayout(panes: Panes, setPanes: (update: Panes | ((current: Panes) => Panes)) => void) {
  const [twoUp, setTwoUp] = useState(false);
  const [active, setActive] = useState(0);
  const activePane = twoUp ? active : 0;
  const series: [ViewerSeries | undefined, ViewerSeries | undefined] = [paneSeries(panes[0]), twoUp ? paneSeries(panes[1]) : undefined];

  /** Two viewports: the second shows the next series of the study unless it already shows something. */
  const showTwoUp = (on: boolean) => {
    if (on && !panes[1] && panes[0]) {
      const { loaded } = panes[0];
      const list = loaded.study.series;
      const at = list.findIndex((s) => s.seriesInstanceUid === series[0]?.seriesInstanceUid);
      const next = list[at + 1] ?? list[at] ?? list[0];
      setPanes([panes[0], { loaded, seriesUid: next?.seriesInstanceUid ?? null }]);
    }
    setTwoUp(on);
    setActive(on ? 1 : 0);
  };

  /** A prior in the second viewport, on the series that best matches the first viewport's. */
  const openBeside = (loaded: Loaded) => {
    setPanes((current) => [current[0], { loaded, seriesUid: matchingSeries(loaded.study, paneSeries(current[0])) }]);
    setTwoUp(true);
    setActive(1);
  };

  const chooseSeries = (uid: string) => {
    setPanes((current) => {
      const next: [Pane | null, Pane | null] = [...current];
      const pane = next[activePane];
      if (pane) next[activePane] = { ...pane, seriesUid: uid };
      return next;
    });
  };

  return { twoUp, active, setActive, activePane, series, showTwoUp, openBeside, chooseSeries };
}
