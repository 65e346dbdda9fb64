/**
 * The templates migration 0003 inserts on a new installation, frozen as they shipped with it: a
 * migration is history, so later edits to templates never change what it writes. Plain JSON-shaped
 * data, typed here rather than with the live schema for the same reason.
 */
export interface BuiltInTemplate {
  name: string;
  modalities: string[];
  bodyPart: string;
  sections: Record<string, unknown>[];
}

export const BUILT_IN_TEMPLATES: readonly BuiltInTemplate[] = [
  {
    name: 'CT (general)',
    modalities: ['CT'],
    bodyPart: '',
    sections: [
      {
        key: 'clinical-history',
        title: 'Clinical history',
        placeholder: 'Indication as given on the request',
      },
      {
        key: 'technique',
        title: 'Technique',
        placeholder: 'Scan range, phase, contrast',
        picklist: ['Without intravenous contrast.', 'With intravenous contrast, portal venous phase.'],
      },
      {
        key: 'comparison',
        title: 'Comparison',
        defaultText: 'None.',
        picklist: ['None.', 'Prior study of the same region, dated: '],
      },
      { key: 'findings', title: 'Findings', placeholder: 'Describe the findings by organ system' },
      {
        key: 'impression',
        title: 'Impression',
        placeholder: 'Numbered conclusions',
        picklist: ['No acute abnormality.'],
      },
    ],
  },
  {
    name: 'MR (general)',
    modalities: ['MR'],
    bodyPart: '',
    sections: [
      {
        key: 'clinical-history',
        title: 'Clinical history',
        placeholder: 'Indication as given on the request',
      },
      {
        key: 'technique',
        title: 'Technique',
        placeholder: 'Sequences and planes, contrast',
        picklist: ['Multiplanar multisequence imaging without contrast.', 'Multiplanar multisequence imaging before and after gadolinium.'],
      },
      {
        key: 'comparison',
        title: 'Comparison',
        defaultText: 'None.',
        picklist: ['None.', 'Prior study of the same region, dated: '],
      },
      { key: 'findings', title: 'Findings', placeholder: 'Describe the findings' },
      { key: 'impression', title: 'Impression', placeholder: 'Numbered conclusions' },
    ],
  },
  {
    name: 'Radiograph (CR/DX)',
    modalities: ['CR', 'DX'],
    bodyPart: '',
    sections: [
      {
        key: 'clinical-history',
        title: 'Clinical history',
        placeholder: 'Indication as given on the request',
      },
      {
        key: 'technique',
        title: 'Technique',
        defaultText: 'Views as acquired.',
        picklist: ['PA and lateral views.', 'Single AP view.'],
      },
      {
        key: 'comparison',
        title: 'Comparison',
        defaultText: 'None.',
        picklist: ['None.', 'Prior study of the same region, dated: '],
      },
      { key: 'findings', title: 'Findings', placeholder: 'Describe the findings' },
      {
        key: 'impression',
        title: 'Impression',
        placeholder: 'Conclusion',
        picklist: ['No acute cardiopulmonary abnormality.'],
      },
    ],
  },
  {
    name: 'Ultrasound (general)',
    modalities: ['US'],
    bodyPart: '',
    sections: [
      {
        key: 'clinical-history',
        title: 'Clinical history',
        placeholder: 'Indication as given on the request',
      },
      {
        key: 'technique',
        title: 'Technique',
        defaultText: 'Real-time grey-scale and colour Doppler imaging.',
      },
      {
        key: 'comparison',
        title: 'Comparison',
        defaultText: 'None.',
        picklist: ['None.', 'Prior study of the same region, dated: '],
      },
      { key: 'findings', title: 'Findings', placeholder: 'Organs examined and measurements' },
      { key: 'impression', title: 'Impression', placeholder: 'Conclusion' },
    ],
  },
];
