/** The templates that ship with the app (inserted once by migration 0003; admins may retire them). */
import type { TemplateSection } from '@pacs/shared';

export interface TemplateSeed {
  name: string;
  modalities: string[];
  bodyPart: string;
  sections: TemplateSection[];
}

const history = (placeholder: string): TemplateSection => ({ key: 'clinical-history', title: 'Clinical history', placeholder });
const comparison: TemplateSection = {
  key: 'comparison',
  title: 'Comparison',
  defaultText: 'None.',
  picklist: ['None.', 'Prior study of the same region, dated: '],
};

export const DEFAULT_TEMPLATES: readonly TemplateSeed[] = [
  {
    name: 'CT (general)',
    modalities: ['CT'],
    bodyPart: '',
    sections: [
      history('Indication as given on the request'),
      {
        key: 'technique',
        title: 'Technique',
        placeholder: 'Scan range, phase, contrast',
        picklist: ['Without intravenous contrast.', 'With intravenous contrast, portal venous phase.'],
      },
      comparison,
      { key: 'findings', title: 'Findings', placeholder: 'Describe the findings by organ system' },
      { key: 'impression', title: 'Impression', placeholder: 'Numbered conclusions', picklist: ['No acute abnormality.'] },
    ],
  },
  {
    name: 'MR (general)',
    modalities: ['MR'],
    bodyPart: '',
    sections: [
      history('Indication as given on the request'),
      {
        key: 'technique',
        title: 'Technique',
        placeholder: 'Sequences and planes, contrast',
        picklist: ['Multiplanar multisequence imaging without contrast.', 'Multiplanar multisequence imaging before and after gadolinium.'],
      },
      comparison,
      { key: 'findings', title: 'Findings', placeholder: 'Describe the findings' },
      { key: 'impression', title: 'Impression', placeholder: 'Numbered conclusions' },
    ],
  },
  {
    name: 'Radiograph (CR/DX)',
    modalities: ['CR', 'DX'],
    bodyPart: '',
    sections: [
      history('Indication as given on the request'),
      { key: 'technique', title: 'Technique', defaultText: 'Views as acquired.', picklist: ['PA and lateral views.', 'Single AP view.'] },
      comparison,
      { key: 'findings', title: 'Findings', placeholder: 'Describe the findings' },
      { key: 'impression', title: 'Impression', placeholder: 'Conclusion', picklist: ['No acute cardiopulmonary abnormality.'] },
    ],
  },
  {
    name: 'Ultrasound (general)',
    modalities: ['US'],
    bodyPart: '',
    sections: [
      history('Indication as given on the request'),
      { key: 'technique', title: 'Technique', defaultText: 'Real-time grey-scale and colour Doppler imaging.' },
      comparison,
      { key: 'findings', title: 'Findings', placeholder: 'Organs examined and measurements' },
      { key: 'impression', title: 'Impression', placeholder: 'Conclusion' },
    ],
  },
];

/** Used when no template fits the study. */
export const FALLBACK_SECTIONS: readonly TemplateSection[] = [
  { key: 'clinical-history', title: 'Clinical history' },
  { key: 'technique', title: 'Technique' },
  { key: 'comparison', title: 'Comparison' },
  { key: 'findings', title: 'Findings' },
  { key: 'impression', title: 'Impression' },
];
