/** The admin view's lazy chunk entry (see ../admin/). */
export { default } from '../admin/AdminPage';
